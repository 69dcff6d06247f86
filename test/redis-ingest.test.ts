import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createHub, type HeraldHub } from '../src/index.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { SseConnection } from './support/sse-client.ts';
import { eventually } from './support/wait.ts';

const run = promisify(execFile);
const KEY = 'redis-ingest-test-key-0123456789';
const snippet = (name: string) => fileURLToPath(new URL(`../docs/snippets/${name}`, import.meta.url));

interface Node {
  hub: HeraldHub;
  server: Server;
  base: string;
}

async function startNode(redis: TestRedis, consumer: string, reclaimIdleMs = 30_000): Promise<Node> {
  const hub = await createHub({
    jwtKey: KEY,
    anonymous: true,
    redis: redis.url,
    redisIngest: true,
    logLevel: 'silent',
    ingest: { consumer, blockMs: 200, reclaimIdleMs },
  });
  const server = createServer(hub.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { hub, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stopNode(n: Node): Promise<void> {
  await n.hub.close();
  n.server.closeAllConnections();
  await new Promise((r) => n.server.close(r));
}

const cli = async (redis: TestRedis, ...args: string[]) =>
  (await run('redis-cli', ['-u', redis.url, ...args])).stdout.trim();

async function subscribe(n: Node, topic: string): Promise<SseConnection> {
  const sse = await SseConnection.open(`${n.base}/.well-known/mercure?topic=${encodeURIComponent(topic)}`);
  await sse.live();
  return sse;
}

describe('publishing from any process through the Redis ingest stream', () => {
  let redis: TestRedis;
  let node: Node;

  before(async () => {
    redis = await startRedis();
    node = await startNode(redis, 'node-a');
  });
  after(async () => {
    await stopNode(node);
    await redis.stop();
  });

  test('the shell snippet (redis-cli XADD, JSON and form shapes) reaches an SSE subscriber', async () => {
    const sse = await subscribe(node, 'https://example.com/jobs/42');
    await run('sh', [snippet('ingest.sh')], { env: { ...process.env, REDIS_URL: redis.url } });
    await sse.waitForUpdates(2);
    assert.deepEqual(
      sse.updates.map((u) => [u.event, JSON.parse(u.data)]),
      [
        ['progress', { done: 3, total: 10 }],
        ['progress', { done: 10, total: 10 }],
      ],
    );
    assert.match(sse.updates[0]!.id!, /^urn:herald:ingest:\d+-\d+$/, 'an id derived from the stream entry');
    sse.close();
    await eventually(() => node.hub.hub.connectionCount === 0, 'the subscriber to leave');
    assert.equal(await cli(redis, 'XLEN', 'herald:ingest'), '0', 'processed messages are deleted');
  });

  test('the Python snippet (standard library only) reaches an SSE subscriber', async () => {
    const sse = await subscribe(node, 'https://example.com/reports/7');
    const { stdout } = await run('python3', [snippet('ingest_publisher.py'), redis.url]);
    assert.match(stdout.trim(), /^\d+-\d+$/);
    await sse.waitForUpdates(1);
    assert.deepEqual(JSON.parse(sse.updates[0]!.data), { rows: 1200 });
    sse.close();
  });

  test('malformed messages are counted, logged and dropped; the node keeps publishing', async () => {
    const sse = await subscribe(node, 'https://example.com/ok');
    const before = node.hub.hub.counters.refusals;
    const refusedBefore = Object.values(before).reduce((a, b) => a + b, 0);
    await cli(redis, 'XADD', 'herald:ingest', '*', 'update', '{not json');
    await cli(redis, 'XADD', 'herald:ingest', '*', 'update', '{"data":"no topic"}');
    await cli(redis, 'XADD', 'herald:ingest', '*', 'colour', 'blue');
    await cli(redis, 'XADD', 'herald:ingest', '*', 'topic', 'https://example.com/ok', 'id', 'bad\nid');
    await cli(redis, 'XADD', 'herald:ingest', '*', 'update', '"just a string"');
    await cli(redis, 'XADD', 'herald:ingest', '*', 'update', '[]');
    await cli(
      redis,
      'XADD',
      'herald:ingest',
      '*',
      'topic',
      'https://example.com/ok',
      'data',
      'after the junk',
    );
    await sse.waitForUpdates(1);
    assert.deepEqual(
      sse.updates.map((u) => u.data),
      ['after the junk'],
    );
    const refusals = node.hub.hub.counters.refusals;
    assert.equal(Object.values(refusals).reduce((a, b) => a + b, 0) - refusedBefore, 6);
    assert.ok((refusals['HERALD_ERR_BAD_BODY'] ?? 0) >= 3);
    assert.ok((refusals['HERALD_ERR_MISSING_TOPIC'] ?? 0) >= 1);
    assert.ok((refusals['HERALD_ERR_BAD_ID'] ?? 0) >= 1);
    const metrics = await (await fetch(`${node.base}/metrics`)).text();
    assert.match(metrics, /^herald_ingest_messages_total\{result="rejected"\} 6$/m);
    assert.match(metrics, /^herald_ingest_messages_total\{result="published"\} [1-9]/m);
    assert.equal((await fetch(`${node.base}/readyz`)).status, 200, 'the node is up and ready');
    assert.equal(await cli(redis, 'XLEN', 'herald:ingest'), '0');
    sse.close();
  });
});

describe('the ingest with several nodes', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  test('two nodes consuming one stream publish each message exactly once', async () => {
    const a = await startNode(redis, 'node-a');
    const b = await startNode(redis, 'node-b');
    try {
      const onA = await subscribe(a, 'https://example.com/count');
      const onB = await subscribe(b, 'https://example.com/count');
      const n = 200;
      const args: string[] = [];
      for (let i = 0; i < n; i++) args.push(`XADD herald:ingest * topic https://example.com/count data ${i}`);
      await run('sh', ['-c', `printf '%s\\n' "$@" | redis-cli -u ${redis.url} > /dev/null`, 'sh', ...args]);
      await onA.waitForUpdates(n);
      await onB.waitForUpdates(n);
      for (const sse of [onA, onB]) {
        assert.equal(sse.updates.length, n);
        assert.equal(new Set(sse.updates.map((u) => u.id)).size, n, 'no update twice');
        assert.deepEqual(new Set(sse.updates.map((u) => u.data)), new Set(args.map((_, i) => String(i))));
      }
      const published = [a, b].map((x) => x.hub.hub.counters.published);
      assert.equal(published[0]! + published[1]!, n, 'each message was published by one node only');
      onA.close();
      onB.close();
    } finally {
      await stopNode(a);
      await stopNode(b);
    }
  });

  test('a message a dead node took is published by another; one it already published is not repeated', async () => {
    await cli(redis, 'DEL', 'herald:ingest');
    await cli(redis, 'XGROUP', 'CREATE', 'herald:ingest', 'herald-nodes', '0', 'MKSTREAM');
    const xadd = (data: string) =>
      cli(redis, 'XADD', 'herald:ingest', '*', 'topic', 'https://example.com/orphans', 'data', data);
    const first = await xadd('never published');
    const second = await xadd('already out');
    // A node read both and died before acknowledging them, having published the second one.
    const taken = await cli(
      redis,
      'XREADGROUP',
      'GROUP',
      'herald-nodes',
      'dead-node',
      'STREAMS',
      'herald:ingest',
      '>',
    );
    assert.ok(taken.includes(first) && taken.includes(second));
    const plain = await createHub({ jwtKey: KEY, redis: redis.url, logLevel: 'silent' });
    await plain.publish({
      topic: 'https://example.com/orphans',
      data: 'already out',
      id: `urn:herald:ingest:${second}`,
    });
    await plain.close();

    const live = await startNode(redis, 'node-live', 200);
    try {
      await eventually(
        () => live.hub.hub.counters.published === 1 && live.hub.ingest?.duplicates === 1,
        'the live node to reclaim both',
      );
      // History (read from the start) holds each update once.
      const sse = await SseConnection.open(
        `${live.base}/.well-known/mercure?topic=https://example.com/orphans&lastEventID=earliest`,
      );
      await sse.waitForUpdates(2);
      assert.deepEqual(
        sse.updates.map((u) => [u.id, u.data]),
        [
          [`urn:herald:ingest:${second}`, 'already out'],
          [`urn:herald:ingest:${first}`, 'never published'],
        ],
      );
      assert.match(
        await cli(redis, 'XPENDING', 'herald:ingest', 'herald-nodes'),
        /^0/,
        'nothing left pending',
      );
      assert.equal(await cli(redis, 'XLEN', 'herald:ingest'), '0');
      sse.close();
    } finally {
      await stopNode(live);
    }
  });
});
