// The partitioned broker on a real Redis Cluster (three primaries, one replica each), one
// cluster for the whole file.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { pino } from 'pino';
import type { Update } from '../protocol/update.ts';
import { startRedisCluster, type TestRedisCluster } from '../../test/support/redis-topologies.ts';
import { brokerContract } from './broker-contract.ts';
import type { BrokerGap } from './broker.ts';
import { compareKeys, partitionLayout, partitionOf } from './redis-partitions.ts';
import { ShardedRedisBroker, type ShardedRedisBrokerOptions } from './redis-sharded.ts';
import { parseRedisTarget } from './redis-client.ts';

const logger = pino({ level: 'silent' });
let cluster: TestRedisCluster;
let prefixes = 0;

before(async () => {
  cluster = await startRedisCluster();
});

const target = () => {
  const t = parseRedisTarget(cluster.url);
  assert.equal(t.kind, 'cluster');
  return t as Extract<typeof t, { kind: 'cluster' }>;
};

brokerContract(
  'ShardedRedisBroker',
  async (options) =>
    new ShardedRedisBroker({
      ...options,
      target: target(),
      logger,
      prefix: `contract${++prefixes}`,
      partitions: 6,
    }),
);

const brokers: ShardedRedisBroker[] = [];
// Brokers close before the cluster stops: a broker whose servers vanish first keeps
// reconnecting, and its sockets would hold the test process open.
after(async () => {
  await Promise.all(brokers.map((b) => b.close()));
  await cluster.stop();
});

async function node(options: Partial<ShardedRedisBrokerOptions> & { prefix: string }) {
  const broker = new ShardedRedisBroker({
    target: target(),
    historySize: 1000,
    historyTtlMs: 0,
    logger,
    partitions: 6,
    ...options,
  });
  brokers.push(broker);
  const seen: Update[] = [];
  const gaps: BrokerGap[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  await broker.start(
    (u) => {
      seen.push(u);
      for (const w of waiters) if (seen.length >= w.n) w.resolve();
    },
    (g) => gaps.push(g),
  );
  const received = (n: number, ms = 10_000) =>
    new Promise<Update[]>((resolve, reject) => {
      if (seen.length >= n) return resolve(seen);
      const t = setTimeout(() => reject(new Error(`received ${seen.length} of ${n}`)), ms);
      waiters.push({ n, resolve: () => (clearTimeout(t), resolve(seen)) });
    });
  return { broker, seen, gaps, received };
}

/** Topics that fall in `count` distinct partitions of a 6-partition log. */
function topicsOnDistinctPartitions(count: number): string[] {
  const byPart = new Map<number, string>();
  for (let i = 0; byPart.size < count; i++) {
    const t = `https://example.com/t/${i}`;
    const p = partitionOf(t, 6);
    if (!byPart.has(p)) byPart.set(p, t);
  }
  return [...byPart.values()];
}

const input = (topic: string, data: string, id?: string) => ({
  topics: [topic],
  data,
  private: false,
  ...(id ? { id } : {}),
});

describe('ShardedRedisBroker on a three-primary cluster', () => {
  it('spreads its partitions evenly over the primaries', async () => {
    const owners = await Promise.all(partitionLayout('herald', 6).map((p) => cluster.primaryOf(p.slot)));
    const perPrimary = new Map<number, number>();
    for (const o of owners) perPrimary.set(o.port, (perPrimary.get(o.port) ?? 0) + 1);
    assert.deepEqual([...perPrimary.values()], [2, 2, 2]);
  });

  it('gives two nodes every update once, in the same order, from topics on every partition', async () => {
    const a = await node({ prefix: 'order' });
    const b = await node({ prefix: 'order' });
    const topics = topicsOnDistinctPartitions(6);
    const published = (
      await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          (i % 2 ? a : b).broker.publish([input(topics[i % topics.length]!, `u${i}`)]),
        ),
      )
    ).flat();
    const sa = await a.received(120);
    const sb = await b.received(120);
    assert.deepEqual(
      sa.map((u) => u.position),
      sb.map((u) => u.position),
    );
    assert.deepEqual(new Set(sa.map((u) => u.id)), new Set(published.map((u) => u.id)));
    assert.equal(sa.length, 120);
    // The dispatch order is the hub-wide key order: (stream id, partition).
    const key = (u: Update) => {
      const [sid, part] = u.position.split('@');
      return [sid!, Number(part)] as const;
    };
    for (let i = 1; i < sa.length; i++) {
      const [s1, p1] = key(sa[i - 1]!);
      const [s2, p2] = key(sa[i]!);
      assert.ok(compareKeys(s1, p1, s2, p2) < 0, `${sa[i - 1]!.position} before ${sa[i]!.position}`);
    }
  });

  it('orders one node’s acknowledged publishes as they were acknowledged, across partitions', async () => {
    const a = await node({ prefix: 'causal' });
    const topics = topicsOnDistinctPartitions(6);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await a.broker.publish([input(topics[i % 6]!, `c${i}`)]))[0]!.id);
    const seen = await a.received(30);
    assert.deepEqual(
      seen.map((u) => u.id),
      ids,
    );
  });

  it('resumes from any update on another node with nothing lost or repeated, whatever partition it sits on', async () => {
    const a = await node({ prefix: 'resume' });
    const b = await node({ prefix: 'resume' });
    const topics = topicsOnDistinctPartitions(6);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => a.broker.publish([input(topics[i % 6]!, `r${i}`, `r${i}`)])),
    );
    const order = (await b.received(60)).map((u) => u.id);
    await a.received(60);
    for (const k of [0, 7, 29, 58, 59]) {
      const page = await b.broker.historyAfter(order[k]!, 1000);
      assert.equal(page.found, true);
      assert.equal(page.truncated, undefined);
      assert.deepEqual(
        page.updates.map((u) => u.id),
        order.slice(k + 1),
        `after ${order[k]}`,
      );
    }
    const limited = await a.broker.historyAfter(order[10]!, 5);
    assert.deepEqual(
      limited.updates.map((u) => u.id),
      order.slice(11, 16),
    );
    const all = await a.broker.historyAfter('earliest', 1000);
    assert.deepEqual(
      all.updates.map((u) => u.id),
      order,
    );
  });

  it('says a resume lost updates when another partition trimmed past the resume point', async () => {
    const a = await node({ prefix: 'trim', historySize: 3 });
    const [t1, t2] = topicsOnDistinctPartitions(2);
    await a.broker.publish([input(t1!, 'keep', 'keep')]);
    for (let i = 0; i < 5; i++) await a.broker.publish([input(t2!, `x${i}`, `x${i}`)]);
    await a.received(6);
    const page = await a.broker.historyAfter('keep', 100);
    assert.equal(page.found, true);
    assert.equal(page.truncated, true);
    assert.deepEqual(
      page.updates.map((u) => u.id),
      ['x2', 'x3', 'x4'],
    );
  });

  it('never writes when reading history (the read scripts are flagged no-writes)', async () => {
    const a = await node({ prefix: 'readonly', historySize: 2, historyTtlMs: 60_000 });
    const [t] = topicsOnDistinctPartitions(1);
    for (let i = 0; i < 4; i++) await a.broker.publish([input(t!, `w${i}`, `w${i}`)]);
    await a.received(4);
    const admin = new Cluster(target().seeds);
    try {
      const p = partitionLayout('readonly', 6)[partitionOf(t!, 6)]!;
      const before = await admin.xinfo('STREAM', p.stream);
      await a.broker.historyAfter('earliest', 10);
      await a.broker.historyAfter('w2', 10);
      assert.deepEqual(await admin.xinfo('STREAM', p.stream), before);
    } finally {
      admin.disconnect();
    }
  });
});
