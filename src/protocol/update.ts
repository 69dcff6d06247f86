/** An update as a publisher describes it, before the hub has stored it. */
export interface PublishInput {
  /** First topic is canonical, the rest are alternates; at least one. */
  topics: string[];
  data: string;
  /** Client-supplied id; the hub generates one when absent. */
  id?: string;
  /** Becomes the SSE `event:` field. */
  type?: string;
  /** Becomes the SSE `retry:` field (ms). */
  retry?: number;
  private: boolean;
}

/** An update once the broker has placed it in the hub-wide order. */
export interface Update extends PublishInput {
  id: string;
  /**
   * Opaque position in the hub-wide order, unique per update (the id may be reused by a
   * careless publisher, the position never is). Used to join replay and live without duplicates.
   */
  position: string;
  /** Wall-clock ms when the hub accepted the update; used for publish-to-deliver latency. */
  publishedAt: number;
}

/** Names of events the hub itself generates (never sent by publishers). */
export const HubEvent = {
  /** The requested Last-Event-ID is no longer (or never was) in history: refetch. */
  gap: 'herald.gap',
  /** The subscriber's token expired; reconnect with a fresh one. */
  tokenExpired: 'herald.token-expired',
  /** The hub is shutting down; reconnect (the `retry:` field says when). */
  shutdown: 'herald.shutdown',
  /** The subscriber fell too far behind and is being disconnected; resume from the last id. */
  slowConsumer: 'herald.slow-consumer',
  /** Node-local statistics for the dashboard. */
  stats: 'herald.stats',
} as const;
export type HubEventName = (typeof HubEvent)[keyof typeof HubEvent];

/** Topic on which the hub publishes its own statistics (admin only). */
export const STATS_TOPIC = '/.well-known/herald/stats';
