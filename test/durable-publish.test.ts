// Durable publishing (issue 18, item 2): with --redis-wait-replicas N a publish is answered
// only once N replicas have it (Redis WAIT on the connection that wrote it), else 503 with a
// one-line reason that names no address. On a Sentinel-managed primary (one replica) and on
// a Redis Cluster (one replica per primary), real servers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import {
  startRedisCluster,
  startSentinel,
  type TestRedisCluster,
  type TestSentinel,
} from './support/redis-topologies.ts';

const KEY = 'durable-publish-secret-0123456789ab';
const base = { port: 0, host: '127.0.0.1', jwtKey: KEY, anonymous: true, logLevel: 'silent' } as const;

async function publish(node: RunningHerald, topic: string): Promise<{ status: number; text: string }> {
  const token = await mintToken({ secret: KEY, publish: ['*'] });
  const res = await fetch(`${node.url}/.well-known/mercure`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ topic, data: 'durable' }),
  });
  return { status: res.status, text: await res.text() };
}

function scenarios(url: () => string, ports: () => number[]): void {
  test('one replica asked: answered 200 once the replica has it', async () => {
    const node = await startHerald({ ...base, redis: url(), redisWaitReplicas: 1, redisWaitTimeout: 5000 });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await publish(node, `https://ex.com/durable/${i}`);
        assert.equal(r.status, 200, r.text);
      }
    } finally {
      await node.close();
    }
  });

  test('more replicas asked than exist: 503 with the reason, no address', async () => {
    const node = await startHerald({ ...base, redis: url(), redisWaitReplicas: 2, redisWaitTimeout: 200 });
    try {
      const r = await publish(node, 'https://ex.com/durable/short');
      assert.equal(r.status, 503);
      assert.match(r.text, /only 1 of 2 Redis replicas confirmed it within 200 ms/);
      assert.equal(r.text.trim().split('\n').length, 1, 'one line');
      for (const port of ports()) assert.ok(!r.text.includes(String(port)), 'no address in the answer');
    } finally {
      await node.close();
    }
  });
}

describe('Sentinel-managed primary with one replica', () => {
  let sentinel: TestSentinel;
  before(async () => {
    sentinel = await startSentinel();
  });
  after(async () => {
    await sentinel.stop();
  });
  scenarios(
    () => sentinel.url,
    () => [sentinel.primary.port, sentinel.replica.port, ...sentinel.sentinelPorts],
  );
});

describe('Redis Cluster, one replica per primary', () => {
  let cluster: TestRedisCluster;
  before(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicas: 1 });
  });
  after(async () => {
    await cluster.stop();
  });
  scenarios(
    () => cluster.url,
    () => cluster.nodes.map((n) => n.port),
  );
});
