import type { SubscriptionDoc, SubscriptionDoc08 } from './presence.ts';

/** One subscription document (either dialect) as a presence store keeps it. */
export type PresenceDoc = SubscriptionDoc | SubscriptionDoc08;

/**
 * Where a node publishes its subscribers so every node's subscriptions API can list them
 * (cluster-wide presence). The hub core depends on this seam only; the Redis implementation
 * lives with the brokers (src/broker/redis-presence.ts).
 *
 * Contract:
 * - `write` records this node's changes: documents to add (by their `id`, the subscription
 *   topic, which is unique per subscription and selector) and ids to remove. Writes from one
 *   node are applied in call order. A rejected write changes nothing it reports as done;
 *   the caller may simply try the next one (presence is best effort, never fatal).
 * - `listOthers` resolves with the documents of every *other* live node; the caller adds its
 *   own from memory, so its own view never lags its writes.
 * - A node that stops renewing (killed, partitioned away) is no longer live after at most
 *   `ttlMs`: `listOthers` leaves its documents out from then on, and within one more sweep
 *   interval (`ttlMs / 3`) exactly one live node receives them through `onExpired`, to
 *   announce that they ended. If that node dies before announcing, the leave events are lost
 *   (the API is still right).
 * - A node that finds it was itself declared dead (paused past `ttlMs`) calls `onRevived`:
 *   the caller rewrites its documents with `replaceAll`.
 */
export interface PresenceStore {
  readonly ttlMs: number;
  start(handlers: { onExpired(docs: PresenceDoc[]): void; onRevived(): void }): Promise<void>;
  write(add: readonly PresenceDoc[], remove: readonly string[]): Promise<void>;
  /** Replaces everything this node had recorded (after a revival). */
  replaceAll(docs: readonly PresenceDoc[]): Promise<void>;
  listOthers(): Promise<PresenceDoc[]>;
  /** Removes this node's documents (a graceful stop) and stops renewing. */
  close(): Promise<void>;
}
