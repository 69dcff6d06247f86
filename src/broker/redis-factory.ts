import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Broker } from './broker.ts';
import { RedisBroker } from './redis.ts';
import { ShardedRedisBroker } from './redis-sharded.ts';
import { clusterOptions, parseRedisTarget } from './redis-target.ts';
import type { StateStore, StateLimits } from './state-store.ts';
import { RedisStateStore } from './redis-state.ts';

export interface RedisBrokerSettings {
  url: string;
  historySize: number;
  historyTtlMs: number;
  logger: Logger;
  /** Partitions of the log on a Redis Cluster (ignored otherwise). */
  partitions?: number;
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
export function createRedisStateStore(url: string, limits: StateLimits): StateStore {
  const target = parseRedisTarget(url);
  if (target.kind === 'single') return new RedisStateStore({ redis: url, limits });
  const client =
    target.kind === 'cluster'
      ? new Cluster(target.seeds, {
          ...clusterOptions(target, { maxRetriesPerRequest: 2 }),
          enableOfflineQueue: true,
        })
      : new Redis({ ...target.options, maxRetriesPerRequest: 2 });
  client.on('error', () => {}); // each command reports its own failure
  const store = new RedisStateStore({
    redis: client,
    limits,
    ...(target.kind === 'cluster' ? { prefix: '{herald:state}:' } : {}),
  });
  return {
    kind: store.kind,
    apply: (topic, op, options) => store.apply(topic, op, options),
    get: (topic) => store.get(topic),
    list: (limit) => store.list(limit),
    close: async () => {
      await store.close();
      client.disconnect();
    },
  };
}
