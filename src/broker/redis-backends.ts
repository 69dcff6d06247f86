import type { Logger } from 'pino';
import type { Broker } from './broker.ts';
import { RedisBroker } from './redis.ts';
import { createAnyClient, parseRedisTarget } from './redis-client.ts';
import { ShardedRedisBroker } from './redis-sharded.ts';
import type { StateStore, StateLimits } from './state-store.ts';
import { RedisStateStore } from './redis-state.ts';

/** Which broker and state store a `--redis` URL gets (the clients come from redis-client.ts). */

export interface RedisBrokerSettings {
  url: string;
  historySize: number;
  historyTtlMs: number;
  logger: Logger;
  /** Partitions of the log on a Redis Cluster (ignored otherwise). */
  partitions?: number;
  /** How long a publish's idempotency key is remembered (ms; 0 = never). */
  idempotencyWindowMs?: number;
  /** Replicas that must confirm a publish (Redis `WAIT`) before it is answered; 0 = none. */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

/**
 * The broker for a `--redis` URL: one instance and a Sentinel-managed primary share the
 * single-log broker (unchanged); a Redis Cluster gets the partitioned one.
 */
export function createRedisBroker(settings: RedisBrokerSettings): Broker {
  const target = parseRedisTarget(settings.url);
  const { partitions, ...rest } = settings;
  if (target.kind === 'cluster')
    return new ShardedRedisBroker({ ...rest, target, ...(partitions !== undefined ? { partitions } : {}) });
  return new RedisBroker(rest);
}

/**
 * Retained state for a `--redis` URL. On a cluster every state key carries one hash tag
 * (`{herald:state}`): the state script changes a topic's document, the topic set and the
 * version counter together, so they must share a slot. State therefore lives on one shard;
 * the update log is what spreads (docs/scaling.md).
 */
export function createRedisStateStore(
  url: string,
  limits: StateLimits,
  logger?: Logger,
  idempotencyWindowMs = 0,
): StateStore {
  const target = parseRedisTarget(url);
  // Unlike the broker's, this connection queues commands while it reconnects (two tries each):
  // a state change waits out a short blip instead of failing.
  const client = createAnyClient(target, { maxRetriesPerRequest: 2 }, { enableOfflineQueue: true });
  return new RedisStateStore({
    redis: client,
    owned: true,
    url: target.url,
    idempotencyWindowMs,
    limits,
    ...(logger ? { logger } : {}),
    ...(target.kind === 'cluster' ? { prefix: '{herald:state}:' } : {}),
  });
}
