import type { Principal } from '../auth/principal.ts';
import type { EncodedUpdate } from '../protocol/frames.ts';
import type { Selector } from '../protocol/selector.ts';
import type { Conflation } from './conflation.ts';
import type { AdmissionTicket } from './limits.ts';
import type { Sink } from './sink.ts';

/** Where a connection comes from, as the transport saw it. */
export interface ClientInfo {
  ip?: string;
  /** The request id of the HTTP request (or upgrade) that opened it, for logs. */
  requestId?: string;
}

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
  /**
   * Asked for Herald's state extension (`snapshot` or `throttle`): updates that changed a
   * retained state arrive as `herald.state` events that name their topic.
   */
  stateMode = false;
  /**
   * State versions this subscriber already has per topic (from its snapshot or replay), until
   * a newer one has gone out; undefined when there is nothing to skip.
   */
  stateSeen: Map<string, number> | undefined;
  /** Id of the last update handed to the sink: where a slow consumer is told to resume. */
  lastSentId: string | undefined;
  /** `drop` slow-consumer policy: updates skipped in the current episode (undefined: not dropping). */
  dropped: number | undefined;
  /** `disconnect` policy: the disconnect is already scheduled. */
  overflowed = false;
  /** Set when the subscriber asked for `throttle`. */
  conflation: Conflation | undefined;
  expiryTimer: ReturnType<typeof setTimeout> | undefined;
  client: ClientInfo = {};
  /** Watches the stats topic (a dashboard): left out of the stats, see `isMonitor` in stats.ts. */
  monitor = false;
  /** What this connection counts against in the connection caps; set while registered. */
  ticket: AdmissionTicket | undefined;

  constructor(id: string, principal: Principal, sink: Sink, selectors: Selector[]) {
    this.id = id;
    this.principal = principal;
    this.sink = sink;
    this.selectors = selectors;
    this.connectedAt = Date.now();
  }
}
