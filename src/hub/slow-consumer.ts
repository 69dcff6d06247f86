/**
 * The slow-consumer policy, decided here and nowhere else. A sink only reports that a write
 * left its connection over its byte budget (`Sink.send` returning false); this decides what
 * happens to that subscription:
 * - `disconnect`: end it (`herald.slow-consumer` with `retry:`, then close); the client
 *   reconnects and resumes from its last id.
 * - `drop`: skip its updates (and stats) until its sink says the connection drained, then send
 *   one `herald.dropped` event saying how many were skipped and the last id written before
 *   them. A sink that cannot tell when it drained (no `onceDrained`) is disconnected instead.
 */
import { EncodedNotice } from '../protocol/frames.ts';
import { HubEvent } from '../protocol/update.ts';
import type { HubObserver } from './observer.ts';
import type { HubStatistics } from './stats.ts';
import type { Subscription } from './subscription.ts';

export type SlowConsumerPolicy = 'disconnect' | 'drop';

export class SlowConsumers {
  readonly #policy: SlowConsumerPolicy;
  readonly #stats: HubStatistics;
  readonly #observer: HubObserver;
  /** Ends a subscription as `slow-consumer` (the hub's unsubscribe). */
  readonly #disconnect: (sub: Subscription) => void;

  constructor(
    policy: SlowConsumerPolicy,
    stats: HubStatistics,
    observer: HubObserver,
    disconnect: (sub: Subscription) => void,
  ) {
    this.#policy = policy;
    this.#stats = stats;
    this.#observer = observer;
    this.#disconnect = disconnect;
  }

  /** True (and the update counted as dropped) while the subscription is in a drop episode. */
  skips(sub: Subscription): boolean {
    if (sub.dropped === undefined) return false;
    sub.dropped++;
    return true;
  }

  /** A write left `sub`'s connection over its byte budget. */
  overBudget(sub: Subscription): void {
    if (sub.closed) return;
    const sink = sub.sink;
    if (this.#policy === 'drop' && sink.onceDrained) {
      if (sub.dropped !== undefined) return;
      sub.dropped = 0;
      sink.onceDrained(() => this.#caughtUp(sub));
      return;
    }
    if (sub.overflowed) return;
    sub.overflowed = true;
    // Never from inside a dispatch: unsubscribing edits the index the dispatch is walking.
    setImmediate(this.#disconnect, sub);
  }

  // The connection drained: tell the client what it missed, then send normally again.
  #caughtUp(sub: Subscription): void {
    const count = sub.dropped ?? 0;
    sub.dropped = undefined;
    if (sub.closed || count === 0) return;
    sub.sink.notice(
      new EncodedNotice(HubEvent.dropped, {
        dropped: count,
        lastEventId: sub.lastSentId ?? null,
        reason: 'fell behind; updates after lastEventId were skipped: resume from it to fetch them',
      }),
    );
    const counters = this.#stats.counters.slowConsumer;
    counters.drop++;
    counters.droppedUpdates += count;
    this.#observer.onDropped?.(count);
  }
}
