// `herald serve` nodes on a real Redis Cluster (three primaries, one replica each) and on a
// real Sentinel set-up: one order on every node, resume across nodes and shards, and a
// primary SIGKILLed under a publisher that counts its 200s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { partitionLayout, partitionOf } from '../src/broker/redis-partitions.ts';
import { startHubProcess, type HubProcess } from './support/hub-process.ts';
import { startRedisCluster, startSentinel } from './support/redis-topologies.ts';
import { SseConnection } from './support/sse-client.ts';

const KEY = 'topology-test-secret';
const PARTITIONS = 6;
const topics = Array.from({ length: 12 }, (_, i) => `https://example.com/items/${i}`);
let publisher: string;
let subscriber: string;

before(async () => {
  publisher = await mintToken({ secret: KEY, publish: ['*'] });
  subscriber = await mintToken({ secret: KEY, subscribe: ['https://example.com/{+any}'] });
});

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function heraldNode(url: string): Promise<HubProcess> {
  const node = await startHubProcess([
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--redis',
    url,
    '--redis-partitions',
    String(PARTITIONS),
    '--jwt-key',
    KEY,
    '--heartbeat',
    '500ms',
  ]);
  cleanups.push(() => node.stop('SIGKILL'));
  return node;
}

async function subscribe(node: HubProcess, lastEventId?: string): Promise<SseConnection> {
  const headers: Record<string, string> = { Authorization: `Bearer ${subscriber}` };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const c = await SseConnection.open(
    `${node.url}/.well-known/mercure?topic=${encodeURIComponent('https://example.com/{+any}')}`,
    headers,
  );
  cleanups.push(() => c.close());
  assert.equal(c.status, 200);
  return c;
}

async function publish(
  node: HubProcess,
  topic: string,
  data: string,
): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(`${node.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${publisher}` },
      body: new URLSearchParams({ topic, data }),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.text()).trim() };
  } catch (e) {
    return { status: 0, body: String(e) };
  }
}

const ids = (c: SseConnection) => c.updates.map((e) => e.id!);

/**
 * Publishes through both nodes until `afterKill` more updates are accepted after `kill()`
 * ran; returns the accepted ids. Bounded: at most 3000 attempts.
 */
async function publishThrough(
  nodes: HubProcess[],
  before: number,
  kill: () => Promise<void>,
  afterKill: number,
): Promise<{ accepted: string[]; refused: number }> {
  const accepted: string[] = [];
  let refused = 0;
  let killedAt = -1;
  for (let i = 0; i < 3000; i++) {
    if (killedAt < 0 && accepted.length >= before) {
      await kill();
      killedAt = accepted.length;
    }
    if (killedAt >= 0 && accepted.length >= killedAt + afterKill) break;
    const r = await publish(nodes[i % nodes.length]!, topics[i % topics.length]!, `p${i}`);
    if (r.status === 200) accepted.push(r.body);
    else {
      refused++;
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  assert.ok(killedAt >= 0 && accepted.length >= killedAt + afterKill, `only ${accepted.length} accepted`);
  return { accepted, refused };
}

/** Lost and duplicated acknowledged updates at one subscriber, and whether it was told of a gap. */
function tally(c: SseConnection, accepted: string[]) {
  const got = ids(c);
  const set = new Set(got);
  return {
    lost: accepted.filter((id) => !set.has(id)).length,
    duplicated: got.length - set.size,
    gap: c.events.some((e) => e.event === 'herald.gap'),
  };
}

describe('herald nodes on a Redis Cluster', () => {
  let a: HubProcess;
  let b: HubProcess;
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
  before(async () => {
    cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    [a, b] = await Promise.all([heraldNode(cluster.url), heraldNode(cluster.url)]);
  });

  it('spreads topics over partitions on every primary and gives both nodes one order', async () => {
    const parts = new Set(topics.map((t) => partitionOf(t, PARTITIONS)));
    const primaries = new Set(
      await Promise.all(
        [...parts].map(
          async (p) => (await cluster.primaryOf(partitionLayout('herald', PARTITIONS)[p]!.slot)).port,
        ),
      ),
    );
    assert.equal(primaries.size, 3, 'the test topics live on all three primaries');
    const onA = await subscribe(a);
    const onB = await subscribe(b);
    const results = await Promise.all(
      Array.from({ length: 48 }, (_, i) => publish(i % 2 ? a : b, topics[i % topics.length]!, `u${i}`)),
    );
    assert.ok(results.every((r) => r.status === 200));
    await onA.waitForUpdates(48);
    await onB.waitForUpdates(48);
    assert.deepEqual(ids(onA), ids(onB));
    assert.deepEqual(new Set(ids(onA)), new Set(results.map((r) => r.body)));
  });

  it('resumes a client moving between nodes with nothing lost or repeated across shards', async () => {
    const reference = await subscribe(b);
    const moving = await subscribe(a);
    let n = 0;
    const next = () => publish(n % 2 ? a : b, topics[n % topics.length]!, `r${n++}`);
    for (let i = 0; i < 12; i++) assert.equal((await next()).status, 200);
    await moving.waitForUpdates(12);
    moving.close();
    const during = Array.from({ length: 12 }, () => next());
    const resumed = await subscribe(b, ids(moving).at(-1));
    const later = Array.from({ length: 12 }, () => next());
    assert.ok((await Promise.all([...during, ...later])).every((r) => r.status === 200));
    await reference.waitForUpdates(36);
    await resumed.waitForUpdates(36 - moving.updates.length);
    assert.deepEqual([...ids(moving), ...ids(resumed)], ids(reference));
    assert.equal(resumed.events.filter((e) => e.event === 'herald.gap').length, 0);
  });

  it('loses and repeats no acknowledged update when a primary is SIGKILLed and its replica takes over', async () => {
    const onA = await subscribe(a);
    const onB = await subscribe(b);
    const victim = await cluster.primaryOf(
      partitionLayout('herald', PARTITIONS)[partitionOf(topics[0]!, PARTITIONS)]!.slot,
    );
    const { accepted, refused } = await publishThrough([a, b], 30, () => victim.kill(), 30);
    await cluster.waitHealthy(cluster.nodes.find((n) => n !== victim));
    for (const c of [onA, onB])
      await c.waitFor(
        () => {
          const t = tally(c, accepted);
          return t.lost === 0 || t.gap;
        },
        'every acknowledged update or a herald.gap',
        20_000,
      );
    const results = [tally(onA, accepted), tally(onB, accepted)];
    console.log(
      `cluster failover: ${accepted.length} acknowledged, ${refused} refused, at subscribers`,
      results,
    );
    for (const r of results) {
      assert.equal(r.duplicated, 0);
      assert.ok(r.lost === 0 || r.gap, 'a lost acknowledged update comes with a herald.gap');
    }
    // A publish refused with 503 may still have been stored, and reach the nodes after the
    // acknowledged ones: wait until both nodes hold as many as the fuller one, then compare.
    const total = Math.max(ids(onA).length, ids(onB).length);
    for (const c of [onA, onB])
      await c.waitFor(() => ids(c).length >= total, 'the same updates on both nodes', 20_000);
    assert.deepEqual(ids(onA), ids(onB));
  });
});

describe('herald nodes on a Sentinel-managed primary', () => {
  it('keeps serving across a failover: no acknowledged update lost or repeated without a herald.gap', async () => {
    const sentinel = await startSentinel();
    cleanups.push(() => sentinel.stop());
    const [a, b] = await Promise.all([heraldNode(sentinel.url), heraldNode(sentinel.url)]);
    const onA = await subscribe(a);
    const onB = await subscribe(b);
    const { accepted, refused } = await publishThrough([a, b], 20, () => sentinel.primary.kill(), 20);
    assert.equal(await sentinel.primaryPort(), sentinel.replica.port, 'the replica was promoted');
    for (const c of [onA, onB])
      await c.waitFor(
        () => {
          const t = tally(c, accepted);
          return t.lost === 0 || t.gap;
        },
        'every acknowledged update or a herald.gap',
        20_000,
      );
    const results = [tally(onA, accepted), tally(onB, accepted)];
    console.log(
      `sentinel failover: ${accepted.length} acknowledged, ${refused} refused, at subscribers`,
      results,
    );
    for (const r of results) {
      assert.equal(r.duplicated, 0);
      assert.ok(r.lost === 0 || r.gap);
    }
    // A client that resumes after the failover, on the other node, gets the rest.
    const mid = ids(onA)[Math.floor(ids(onA).length / 2)]!;
    const resumed = await subscribe(b, mid);
    const expected = ids(onA).slice(ids(onA).indexOf(mid) + 1);
    await resumed.waitForUpdates(expected.length);
    assert.deepEqual(ids(resumed), expected);
  });
});
