import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import type { SnapshotPayload, StatePayload } from '../src/protocol/state.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { openSse } from './support/sse-events.ts';

const KEY = 'state-redis-secret-state-redis-secret';
let redis: TestRedis;
let nodes: RunningHerald[] = [];

before(async () => {
  redis = await startRedis();
  const options = {
    port: 0,
    host: '127.0.0.1',
    jwtKey: KEY,
    anonymous: true,
    logLevel: 'silent',
    redis: redis.url,
  };
  nodes = [await startHerald(options), await startHerald(options)];
});
after(async () => {
  for (const n of nodes) await n.close();
  await redis.stop();
});

test('two nodes on one Redis share the state: increments on both add up and both snapshots agree', async () => {
  const topic = 'https://ex.com/cluster/counter';
  const token = await mintToken({ secret: KEY, publish: ['*'] });
  const url = (n: RunningHerald) => `${n.url}/.well-known/mercure`;
  const watcher = await openSse(`${url(nodes[1]!)}?topic=${encodeURIComponent(topic)}&snapshot=1`);
  await watcher.waitFor((e) => e.event === 'herald.snapshot');
  const perNode = 200;
  await Promise.all(
    nodes.flatMap((n) =>
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < perNode / 4; i++) {
          const res = await fetch(url(n), {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ topics: topic, patch: { $inc: { n: 1 } } }),
          });
          assert.equal(res.status, 200, await res.text());
        }
      }),
    ),
  );
  const total = perNode * nodes.length;
  await watcher.waitFor((e) => e.event === 'herald.state' && JSON.parse(e.data).state.n === total, 10_000);
  const counts = watcher.events
    .filter((e) => e.event === 'herald.state')
    .map((e) => (JSON.parse(e.data) as StatePayload & { state: { n: number } }).state.n);
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! > counts[i - 1]!, `step back at ${i}`);
  for (const n of nodes) {
    const s = await openSse(`${url(n)}?topic=${encodeURIComponent(topic)}&snapshot=1`);
    const snap = JSON.parse((await s.waitFor((e) => e.event === 'herald.snapshot')).data) as SnapshotPayload;
    assert.deepEqual(snap.states[0]!.state, { n: total });
    s.close();
  }
  watcher.close();
});
