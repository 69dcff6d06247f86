/**
 * The `herald.stats` wire format: what the hub publishes on `STATS_TOPIC` to admins who ask,
 * and what the dashboard (or any client) reads. Defined once here for both sides.
 */

/** Topic on which the hub publishes its own statistics (admin only). */
export const STATS_TOPIC = '/.well-known/herald/stats';

/** One row of the stats' topic list. */
export interface TopicStats {
  /** A topic, or (when `pattern`) a URI template or `*` someone subscribed to. */
  topic: string;
  pattern: boolean;
  /** Subscriptions matching it (for a selector: subscriptions using it). */
  subscribers: number;
  /** Updates with this canonical topic dispatched on this node (from any node) while listed. */
  updates: number;
  /** Those per second, averaged over `rates.windowSeconds`. */
  updatesPerSec: number;
  /** Retained state, `null` when there is none. */
  retained: unknown;
}

/** The body of a `herald.stats` event (the whole node's numbers, every worker included). */
export interface HubStatsSnapshot {
  time: number;
  broker: { kind: string; ready: boolean; detail?: string };
  /**
   * Connections other than monitors (subscriptions watching the stats topic: dashboards);
   * `monitors` counts those left out.
   */
  connections: {
    total: number;
    byTransport: Record<string, number>;
    bySubject: Record<string, number>;
    monitors: number;
  };
  /** `delivered` leaves out deliveries to monitors. */
  totals: { published: number; delivered: number };
  /** Averaged over a sliding window of `windowSeconds` (5 s once the hub has run that long). */
  rates: { publishedPerSec: number; deliveredPerSec: number; windowSeconds: number };
  topics: TopicStats[];
  refusals: Record<string, number>;
  /** With `--workers N`: the hub processes these numbers cover (absent: this process only). */
  processes?: number;
  /**
   * Only in the first event a monitor gets, right when it subscribes: the rates of the last
   * minutes, oldest first, so its chart starts full.
   */
  history?: RateSample[];
}

/** One point of the rate history: the windowed rates as they read at a stats tick. */
export interface RateSample {
  time: number;
  publishedPerSec: number;
  deliveredPerSec: number;
}
