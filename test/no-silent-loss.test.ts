// No silent loss (issue 18, item 4), end to end over real sockets and a real redis-server:
// a resume from an id older than the history, and a Redis that came back empty (restarted
// without persistence), each reach the affected subscribers as herald.gap and are counted in
// /metrics.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { healthOf } from '../src/broker/broker.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { openSse } from './support/sse-events.ts';
import { eventually } from './support/wait.ts';

const KEY = 'no-silent-loss-secret-0123456789abc';
let redis: TestRedis;
let node: RunningHerald;
let token: string;

before(async () => {
  redis = await startRedis();
  token = await mintToken({ secret: KEY, publish: ['*'] });
  node = await startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: KEY,
    anonymous: true,
    logLevel: 'silent',
    redis: redis.url,
    history: 5,
  });
});
after(async () => {
  await node.close();
  await redis.stop();
});

const hubUrl = () => `${node.url}/.well-known/mercure`;

async function publish(topic: string, id: string): Promise<void> {
  const res = await fetch(hubUrl(), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
    body: new URLSearchParams({ topic, data: id, id }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function metric(name: string): Promise<number> {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${node.url}/metrics`)).text());
  assert.ok(m, `${name} is exported`);
  return Number(m[1]);
}

test('a resume from an id older than the history gets herald.gap and counts herald_resume_gaps_total', async () => {
  const topic = 'https://ex.com/loss/trimmed';
  for (let i = 0; i < 8; i++) await publish(topic, `t${i}`); // history 5: t0..t2 are trimmed
  const before = await metric('herald_resume_gaps_total');
  const s = await openSse(`${hubUrl()}?topic=${encodeURIComponent(topic)}&lastEventID=t0`);
  try {
    const gap = await s.waitFor((e) => e.event === 'herald.gap');
    assert.deepEqual(JSON.parse(gap.data), { lastEventId: 't0', reason: 'unknown-or-expired' });
    assert.equal((await metric('herald_resume_gaps_total')) - before, 1);
  } finally {
    s.close();
  }
});

test('a Redis restarted empty: connected subscribers get herald.gap (log-rewound), counted in herald_broker_gaps_total', async () => {
  const topic = 'https://ex.com/loss/rewound';
  const s = await openSse(`${hubUrl()}?topic=${encodeURIComponent(topic)}`);
  try {
    await publish(topic, 'before-restart');
    await s.waitFor((e) => e.data === 'before-restart');
    const before = await metric('herald_broker_gaps_total');
    await redis.kill();
    await redis.restart(); // no persistence: the stream is gone
    const gap = await s.waitFor((e) => e.event === 'herald.gap', 20_000);
    assert.equal(JSON.parse(gap.data).reason, 'log-rewound');
    assert.equal((await metric('herald_broker_gaps_total')) - before, 1);
    // And the node works again: once its broker is back, a new publish reaches the subscriber.
    await eventually(() => healthOf(node.hub.broker).ready, 'the broker to be ready again', 15_000);
    await publish(topic, 'after-restart');
    await s.waitFor((e) => e.data === 'after-restart');
  } finally {
    s.close();
  }
});
