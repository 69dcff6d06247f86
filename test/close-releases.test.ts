// A closed hub lets its process exit: once `close()` resolves, no socket, timer or child
// process of the hub's is left on the event loop, whichever broker it ran on. An embedding
// app (and this test runner) would otherwise hang on shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { startHerald } from '../src/start.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startRedisCluster, type TestRedisCluster } from './support/redis-topologies.ts';
import { openSse } from './support/sse-events.ts';
import { eventually } from './support/wait.ts';

const KEY = 'close-releases-secret-0123456789abcdef';

/** The kinds of what keeps the event loop alive, counted (timers, sockets, processes...). */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function grown(before: Map<string, number>, now: Map<string, number>): string[] {
  return [...now].filter(([k, n]) => n > (before.get(k) ?? 0)).map(([k, n]) => `${k} ${before.get(k) ?? 0}→${n}`);
}

/** Starts a hub, subscribes, publishes and receives, closes; then nothing of it is left. */
async function roundTrip(redis?: string): Promise<void> {
  const token = await mintToken({ secret: KEY, publish: ['*'] });
  const baseline = resources();
  const hub = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: KEY, anonymous: true, logLevel: 'silent', redis });
  const topic = 'https://ex.com/close/x';
  const url = `${hub.url}/.well-known/mercure`;
  const watcher = await openSse(`${url}?topic=${encodeURIComponent(topic)}`);
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ topic, data: 'one' }),
  });
  assert.equal(res.status, 200, await res.text());
  await watcher.waitFor((e) => e.data === 'one');
  watcher.close();
  await hub.close();
  // Sockets finish closing on the next turns of the loop, not in close()'s own turn.
  let left: string[] = [];
  await eventually(
    () => (left = grown(baseline, resources())).length === 0,
    'the hub\'s handles to close',
  ).catch(() => assert.fail(`still on the event loop after close(): ${left.join(', ')}`));
}

describe('a closed hub leaves nothing on the event loop', () => {
  let redis: TestRedis;
  let cluster: TestRedisCluster;
  before(async () => {
    [redis, cluster] = await Promise.all([startRedis(), startRedisCluster({ primaries: 3, replicas: 0 })]);
  });
  after(async () => {
    await Promise.all([redis?.stop(), cluster?.stop()]);
  });

  it('on the memory broker', () => roundTrip());
  it('on one redis-server', () => roundTrip(redis.url));
  it('on a Redis Cluster', () => roundTrip(cluster.url));
});
