/** Plain counters the hub keeps; cheap to bump on the hot path, read by metrics and the dashboard. */
export interface HubCounters {
  published: number;
  delivered: number;
  resumes: number;
  gaps: number;
  refusals: Record<string, number>;
  /** Slow-consumer policy actions: disconnects, drop episodes and the updates dropped. */
  slowConsumer: { disconnect: number; drop: number; droppedUpdates: number };
}

/** The body of a `herald.stats` event (node-local numbers). */
export interface HubStatsSnapshot {
  time: number;
  broker: { kind: string; ready: boolean; detail?: string };
  connections: { total: number; byTransport: Record<string, number>; bySubject: Record<string, number> };
  totals: { published: number; delivered: number };
  rates: { publishedPerSec: number; deliveredPerSec: number };
  topics: { topic: string; subscribers: number; retained: unknown }[];
  refusals: Record<string, number>;
}
