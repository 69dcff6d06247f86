import type { StateOp } from './state.ts';

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
  /**
   * Herald extension: what to do to the retained state of the first topic (`retain` or a
   * merge patch). The hub applies it before publishing and replaces `data` with the result.
   */
  stateOp?: StateOp;
  /**
   * Set by the hub on an update that changed a retained state: `data` is then the whole state
   * of the first topic (JSON) at this version. Brokers must carry it between nodes.
   */
  stateVersion?: number;
  /**
   * The publisher's key for this publish (the `Idempotency-Key` header, else its `id`): a
   * publish with a key the broker saw within the idempotency window is a retry, answered with
   * the first one's update and not stored, delivered or counted again. Never sent to a
   * subscriber, nor stored with the update.
   */
  idempotencyKey?: string;
}

/** An update once the broker has placed it in the hub-wide order. */
export interface Update extends PublishInput {
  id: string;
  /**
   * Opaque position in the hub-wide order, unique per update (the id may be reused by a
   * careless publisher, the position never is). Used to join replay and live without duplicates.
   */
  position: string;
  /** Set by the broker on the answer to a retry (see `idempotencyKey`): the first publish's update. */
  duplicate?: true;
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
  /** The subscriber fell behind and updates were skipped; resume from `lastEventId` to get them. */
  dropped: 'herald.dropped',
  /** Node-local statistics for the dashboard. */
  stats: 'herald.stats',
  /** Sent first to a subscriber that asked for `snapshot`: the retained state of every matching topic. */
  snapshot: 'herald.snapshot',
  /** A retained state changed; carries the whole merged state (to `snapshot`/`throttle` subscribers). */
  state: 'herald.state',
} as const;
export type HubEventName = (typeof HubEvent)[keyof typeof HubEvent];

/**
 * The update a broker stores for `input`: the input's fields but its idempotency key, with
 * the id, position and time the broker gave it. Built field by field: an object spread here
 * cost several µs per update (about ten times this) once the history kept the copies.
 */
export function storedUpdate(input: PublishInput, id: string, position: string, publishedAt: number): Update {
  const u: Update = {
    topics: input.topics,
    data: input.data,
    private: input.private,
    id,
    position,
    publishedAt,
  };
  if (input.type !== undefined) u.type = input.type;
  if (input.retry !== undefined) u.retry = input.retry;
  if (input.stateOp !== undefined) u.stateOp = input.stateOp;
  if (input.stateVersion !== undefined) u.stateVersion = input.stateVersion;
  return u;
}
