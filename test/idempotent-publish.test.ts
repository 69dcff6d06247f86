// Exactly-once publish (issue 18, item 3): a publish retried with the same idempotency key
// (the Idempotency-Key header, else the update's id) within --idempotency-window gets the
// first answer and is not stored, delivered or counted again, on one node and across nodes
// sharing a real redis-server or a Redis Cluster; a retried `$inc` counts once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { createPublisher } from '../src/client/publisher.ts';
import type { SnapshotPayload } from '../src/protocol/state.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startRedisCluster, type TestRedisCluster } from './support/redis-topologies.ts';
import { openSse } from './support/sse-events.ts';

const KEY = 'idempotent-publish-secret-0123456789';
let token: string;
const mercure = (n: RunningHerald) => `${n.url}/.well-known/mercure`;

async function publish(
  node: RunningHerald,
  body: Record<string, unknown>,
  key?: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(mercure(node), {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      ...(key !== undefined ? { 'Idempotency-Key': key } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function stateOf(node: RunningHerald, topic: string): Promise<unknown> {
  const s = await openSse(`${mercure(node)}?topic=${encodeURIComponent(topic)}&snapshot=1`);
  try {
    const snap = JSON.parse((await s.waitFor((e) => e.event === 'herald.snapshot')).data) as SnapshotPayload;
    return snap.states[0]?.state;
  } finally {
    s.close();
  }
}

async function publishedTotal(node: RunningHerald): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const m = /^herald_updates_published_total (\d+)/m.exec(text);
  assert.ok(m, 'herald_updates_published_total is exported');
  return Number(m[1]);
}

/** The same checks on one node (memory broker) and on two nodes sharing a Redis. */
function scenarios(setup: () => RunningHerald[]): void {
  test('a retry with the same Idempotency-Key answers the first id and is delivered and counted once', async () => {
    const nodes = setup();
    const [a, b] = [nodes[0]!, nodes[nodes.length - 1]!];
    const topic = `https://ex.com/idem/${Math.random()}`;
    const watcher = await openSse(`${mercure(b)}?topic=${encodeURIComponent(topic)}`);
    try {
      const before = await publishedTotal(a);
      const first = await publish(a, { topics: topic, data: 'once' }, 'order-42');
      assert.equal(first.status, 200, first.text);
      // The retry goes to the other node, as a load balancer may send it.
      const retry = await publish(b, { topics: topic, data: 'once' }, 'order-42');
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.text, first.text, 'the retry gets the first answer');
      const marker = await publish(a, { topics: topic, data: 'marker' });
      await watcher.waitFor((e) => e.data === 'marker');
      assert.equal(watcher.events.filter((e) => e.data === 'once').length, 1, 'delivered once');
      if (nodes.length === 1) assert.equal((await publishedTotal(a)) - before, 2, 'counted once (+ marker)');
      assert.notEqual(marker.text, first.text);
    } finally {
      watcher.close();
    }
  });

  test('a retry by the same update id (no header) is recognised too', async () => {
    const nodes = setup();
    const topic = `https://ex.com/idem/${Math.random()}`;
    const watcher = await openSse(`${mercure(nodes[0]!)}?topic=${encodeURIComponent(topic)}`);
    try {
      for (const n of nodes) {
        const r = await publish(n, { topics: topic, data: 'by-id', id: 'urn:order:7' });
        assert.equal(r.status, 200);
        assert.equal(r.text, 'urn:order:7');
      }
      await publish(nodes[0]!, { topics: topic, data: 'marker' });
      await watcher.waitFor((e) => e.data === 'marker');
      assert.equal(watcher.events.filter((e) => e.data === 'by-id').length, 1);
    } finally {
      watcher.close();
    }
  });

  test('a retried $inc counts once, and concurrent duplicates on every node store one update', async () => {
    const nodes = setup();
    const topic = `https://ex.com/idem/counter/${Math.random()}`;
    const watcher = await openSse(`${mercure(nodes[0]!)}?topic=${encodeURIComponent(topic)}`);
    try {
      const body = { topics: topic, patch: { $inc: { n: 1 } } };
      // 12 copies of one publish at once, spread over the nodes, plus one distinct publish.
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => publish(nodes[i % nodes.length]!, body, 'inc-1')),
      );
      for (const r of answers) assert.equal(r.status, 200, r.text);
      assert.equal(new Set(answers.map((r) => r.text)).size, 1, 'every copy got the same id');
      assert.equal((await publish(nodes[0]!, body, 'inc-2')).status, 200);
      for (const n of nodes) assert.deepEqual(await stateOf(n, topic), { n: 2 });
      // A patch publishes the whole state: {"n":1}, then {"n":2}, and nothing else.
      await watcher.waitFor((e) => e.data === '{"n":2}');
      assert.deepEqual(
        watcher.events.filter((e) => e.data.startsWith('{')).map((e) => e.data),
        ['{"n":1}', '{"n":2}'],
      );
    } finally {
      watcher.close();
    }
  });

  test('a bad Idempotency-Key is refused with a one-line reason', async () => {
    const nodes = setup();
    for (const key of ['x'.repeat(257), 'has space']) {
      const r = await publish(nodes[0]!, { topics: 'https://ex.com/idem/bad', data: 'x' }, key);
      assert.equal(r.status, 400);
      assert.match(r.text, /idempotency key is 1 to 256 visible ASCII characters/);
    }
  });
}

const base = { port: 0, host: '127.0.0.1', jwtKey: KEY, anonymous: true, logLevel: 'silent' } as const;

before(async () => {
  token = await mintToken({ secret: KEY, publish: ['*'] });
});

describe('one node, memory broker', () => {
  let nodes: RunningHerald[] = [];
  before(async () => {
    nodes = [await startHerald({ ...base })];
  });
  after(async () => {
    for (const n of nodes) await n.close();
  });
  scenarios(() => nodes);

  test('the SDK publisher retries a publish whose answer was lost with the same key: stored once', async () => {
    const node = nodes[0]!;
    const topic = 'https://ex.com/idem/sdk';
    const watcher = await openSse(`${mercure(node)}?topic=${encodeURIComponent(topic)}`);
    const keys: (string | null)[] = [];
    // The first request reaches the hub and is stored; its answer is then lost on the way back.
    const lossy: typeof fetch = async (input, init) => {
      keys.push(new Headers(init?.headers).get('idempotency-key'));
      const res = await fetch(input, init);
      if (keys.length > 1) return res;
      await res.text();
      throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    };
    const publisher = createPublisher({
      url: mercure(node),
      token,
      fetch: lossy,
      backoff: { initialMs: 10 },
    });
    try {
      const id = await publisher.publish(topic, 'sdk-once');
      await publish(node, { topics: topic, data: 'marker' });
      await watcher.waitFor((e) => e.data === 'marker');
      assert.deepEqual(
        watcher.events.filter((e) => e.data === 'sdk-once').map((e) => e.id),
        [id],
        'delivered once, with the id the retry answered',
      );
      assert.equal(keys.length, 2);
      assert.ok(keys[0] && keys[0] === keys[1], 'both attempts carried the same Idempotency-Key');
    } finally {
      await publisher.close();
      watcher.close();
    }
  });

  test('with --idempotency-window 0 a repeated id is published again (the Mercure default)', async () => {
    const off = await startHerald({ ...base, idempotencyWindow: 0 });
    try {
      const topic = 'https://ex.com/idem/off';
      const watcher = await openSse(`${mercure(off)}?topic=${encodeURIComponent(topic)}`);
      await publish(off, { topics: topic, data: 'again', id: 'same' });
      await publish(off, { topics: topic, data: 'again', id: 'same' });
      await watcher.waitFor((e) => e.data === 'again', 5000, 1);
      watcher.close();
    } finally {
      await off.close();
    }
  });
});

describe('two nodes on one redis-server', () => {
  let redis: TestRedis;
  let nodes: RunningHerald[] = [];
  before(async () => {
    redis = await startRedis();
    nodes = [
      await startHerald({ ...base, redis: redis.url }),
      await startHerald({ ...base, redis: redis.url }),
    ];
  });
  after(async () => {
    for (const n of nodes) await n.close();
    await redis.stop();
  });
  scenarios(() => nodes);
});

describe('two nodes on a Redis Cluster (partitioned log)', () => {
  let cluster: TestRedisCluster;
  let nodes: RunningHerald[] = [];
  before(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicas: 0 });
    nodes = [
      await startHerald({ ...base, redis: cluster.url }),
      await startHerald({ ...base, redis: cluster.url }),
    ];
  });
  after(async () => {
    for (const n of nodes) await n.close();
    await cluster.stop();
  });
  scenarios(() => nodes);
});
