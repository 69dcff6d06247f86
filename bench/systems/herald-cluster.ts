/**
 * `herald-cluster`: two (BENCH_CLUSTER_NODES) Herald nodes with `--redis redis+cluster://...`
 * on a real Redis Cluster of three (BENCH_CLUSTER_PRIMARIES) primaries, started on free ports
 * by the same starter the tests use, and stopped with every redis-server and data directory.
 */
import { startRedisCluster, type TestRedisCluster } from '../../test/support/redis-topologies.ts';
import { redisMissing } from '../lib/redis.ts';
import { RedisProbe } from '../lib/redis-counters.ts';
import type { Spawned } from '../lib/proc.ts';
import { publisherToken, running, startNode } from './herald.ts';
import type { SystemUnderTest } from './types.ts';

function count(name: string, fallback: number, min: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name}: expected an integer ≥ ${min}`);
  return v;
}

export const heraldRedisCluster: SystemUnderTest = {
  name: 'herald-cluster',
  // The per-node figures of the capacity model, and the scenarios the brief names; the
  // storm and many-topics cells are not needed for it and would double the run time.
  onlyScenarios: ['capacity', 'fanout', 'publish', 'idle'],
  available: () => Promise.resolve(redisMissing()),
  async start() {
    const nodes = count('BENCH_CLUSTER_NODES', 2, 1);
    // Replicas off by default: on two shared cores each replica replays every write and
    // takes CPU from the hubs being measured. BENCH_CLUSTER_REPLICAS=1 for the real shape.
    const cluster: TestRedisCluster = await startRedisCluster({
      primaries: count('BENCH_CLUSTER_PRIMARIES', 3, 3),
      replicas: count('BENCH_CLUSTER_REPLICAS', 0, 0),
    });
    const started: Spawned[] = [];
    const ports = cluster.nodes.map((n) => n.port);
    const probe = new RedisProbe(ports);
    try {
      const redisPids = await probe.pids();
      const extra = ['--redis', cluster.url];
      const endpoints = [];
      for (let i = 0; i < nodes; i++) {
        const n = await startNode(`herald-c${i}`, extra);
        started.push(n.proc);
        endpoints.push(n.node);
      }
      const nodePids = started.map((p) => p.child.pid ?? 0);
      const sys = running('herald-cluster', started, endpoints, await publisherToken());
      return {
        ...sys,
        pids: () => [...nodePids, ...redisPids],
        nodePids: () => nodePids,
        redisPorts: ports,
        async stop() {
          await sys.stop();
          await cluster.stop();
        },
      };
    } catch (err) {
      await Promise.all(started.map((p) => p.stop()));
      await cluster.stop();
      throw err;
    } finally {
      probe.close();
    }
  },
};
