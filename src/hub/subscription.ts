import type { Principal } from '../auth/principal.ts';
import type { EncodedUpdate } from '../protocol/frames.ts';
import type { Selector } from '../protocol/selector.ts';
import type { Sink } from './sink.ts';

/** One subscriber connection and the selectors it listens to. State lives here, not in closures. */
export class Subscription {
  readonly id: string;
  readonly principal: Principal;
  readonly sink: Sink;
  selectors: Selector[];
  readonly connectedAt: number;
  /** Last dispatch this subscription received, so an update matched twice is sent once. */
  stamp = 0;
  /**
   * While replaying history, live updates wait here; the replay then drains them, skipping
   * those already replayed. Undefined once live.
   */
  pending: EncodedUpdate[] | undefined;
  closed = false;
  expiryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string, principal: Principal, sink: Sink, selectors: Selector[]) {
    this.id = id;
    this.principal = principal;
    this.sink = sink;
    this.selectors = selectors;
    this.connectedAt = Date.now();
  }
}
