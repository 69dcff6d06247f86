/** Plain counters the hub keeps; cheap to bump on the hot path, read by metrics and the dashboard. */
export interface HubCounters {
  published: number;
  delivered: number;
  resumes: number;
  gaps: number;
  /** Times the broker lost updates on their way to this node (each told every subscriber `herald.gap`). */
  brokerGaps: number;
  refusals: Record<string, number>;
  /** Slow-consumer policy actions: disconnects, drop episodes and the updates dropped. */
  slowConsumer: { disconnect: number; drop: number; droppedUpdates: number };
}

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
  connections: { total: number; byTransport: Record<string, number>; bySubject: Record<string, number> };
  totals: { published: number; delivered: number };
  /** Averaged over a sliding window of `windowSeconds` (5 s once the hub has run that long). */
  rates: { publishedPerSec: number; deliveredPerSec: number; windowSeconds: number };
  topics: TopicStats[];
  refusals: Record<string, number>;
  /** With `--workers N`: the hub processes these numbers cover (absent: this process only). */
  processes?: number;
}
