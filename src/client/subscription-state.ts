import type { HeraldClientError } from './errors.ts';
import type { ConnectionStatus } from './subscribe.ts';

/** What a subscription says about itself; the class keeps it current. */
export interface SubscriptionFacts {
  status: ConnectionStatus;
  error: HeraldClientError | undefined;
  lastEventId: string | undefined;
  topics: readonly string[];
}

/**
 * The read side of `HeraldSubscription` that every kind of subscription shares (its own
 * connection, or a tab's share of another tab's): the getters, once.
 */
export abstract class SubscriptionState {
  protected readonly current: SubscriptionFacts;

  constructor(topics: readonly string[], lastEventId: string | undefined) {
    this.current = { status: 'connecting', error: undefined, lastEventId, topics };
  }

  get status(): ConnectionStatus {
    return this.current.status;
  }
  get lastEventId(): string | undefined {
    return this.current.lastEventId;
  }
  get error(): HeraldClientError | undefined {
    return this.current.error;
  }
  get topics(): readonly string[] {
    return this.current.topics;
  }
}
