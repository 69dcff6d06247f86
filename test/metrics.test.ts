import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { httpRequest, publishForm, SseClient } from './support/raw-http.ts';

const KEY = 'metrics-test-secret-0123456';
const PATH = '/.well-known/mercure';

let h: RunningHerald;
before(async () => {
  h = await startHerald({
    port: 0,
    host: '127.0.0.1',
    jwtKey: KEY,
    anonymous: true,
    heartbeat: 0,
    logLevel: 'silent',
    maxConnectionsPerSubject: 1,
  });
});
after(() => h.close());

/** Parses Prometheus text into `series -> value`. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

test('/metrics reports exactly the traffic that was sent', async () => {
  const token = await mintToken({ secret: KEY, publish: ['*'], subject: 'pub' });
  const alice = await mintToken({ secret: KEY, subscribe: ['*'], subject: 'alice' });
  const a1 = new SseClient(`${h.url}${PATH}?topic=a`);
  const a2 = new SseClient(`${h.url}${PATH}?topic=a`);
  const all = new SseClient(`${h.url}${PATH}?topic=*`, { Authorization: `Bearer ${alice}` });
  for (const c of [a1, a2, all]) assert.equal(await c.opened, 200);

  for (let i = 1; i <= 5; i++)
    assert.equal(
      (
        await publishForm(h.url, token, [
          ['topic', 'a'],
          ['data', `${i}`],
          ['id', `a${i}`],
        ])
      ).status,
      200,
    );
  for (let i = 1; i <= 2; i++)
    assert.equal(
      (
        await publishForm(h.url, token, [
          ['topic', 'b'],
          ['data', `${i}`],
        ])
      ).status,
      200,
    );
  await all.waitFor((e) => e.data === '2' && e.id !== 'a2');
  await a1.waitFor((e) => e.id === 'a5');
  await a2.waitFor((e) => e.id === 'a5');

  // A resume from a3 replays a4 and a5 to the new subscriber.
  const resumed = new SseClient(`${h.url}${PATH}?topic=a`, { 'Last-Event-ID': 'a3' });
  assert.equal(await resumed.opened, 200);
  await resumed.waitFor((e) => e.id === 'a5');

  // Refusals: two bad tokens, a bad selector, one over the per-subject cap, one forbidden publish.
  assert.equal(
    (await httpRequest(`${h.url}${PATH}?topic=a`, { headers: { Authorization: 'Bearer x' } })).status,
    401,
  );
  assert.equal((await publishForm(h.url, 'x.y.z', [['topic', 'a']])).status, 401);
  assert.equal((await httpRequest(`${h.url}${PATH}?topic=%7B`)).status, 400);
  assert.equal(
    (await httpRequest(`${h.url}${PATH}?topic=a`, { headers: { Authorization: `Bearer ${alice}` } })).status,
    429,
  );
  const narrow = await mintToken({ secret: KEY, publish: ['c'] });
  assert.equal((await publishForm(h.url, narrow, [['topic', 'a']])).status, 403);

  a1.close();
  await waitUntil(() => h.hub.connectionCount === 3);

  const res = await httpRequest(`${h.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] as string, /^text\/plain/);
  const m = parse(res.text);
  const expect = (series: string, value: number) => assert.equal(m.get(series), value, series);
  expect('herald_connections_active{transport="sse"}', 3);
  expect('herald_connections_opened_total{transport="sse"}', 4);
  expect('herald_disconnects_total{reason="client"}', 1);
  expect('herald_updates_published_total', 7);
  // a1, a2: 5 each; `*`: 7; the resumed subscriber: 2 replayed.
  expect('herald_deliveries_total', 5 + 5 + 7 + 2);
  expect('herald_resumes_total', 1);
  expect('herald_resume_gaps_total', 0);
  expect('herald_refusals_total{reason="HERALD_ERR_UNAUTHORIZED"}', 2);
  expect('herald_refusals_total{reason="HERALD_ERR_BAD_SELECTOR"}', 1);
  expect('herald_refusals_total{reason="HERALD_ERR_TOO_MANY_CONNECTIONS"}', 1);
  expect('herald_refusals_total{reason="HERALD_ERR_FORBIDDEN_TOPIC"}', 1);
  expect('herald_slow_consumer_actions_total{action="disconnect"}', 0);
  expect('herald_slow_consumer_actions_total{action="drop"}', 0);
  expect('herald_dropped_updates_total', 0);
  expect('herald_publish_to_deliver_seconds_count', 7);
  expect('herald_publish_to_deliver_seconds_bucket{le="+Inf"}', 7);
  expect('herald_broker_up{kind="memory"}', 1);
  assert.ok((m.get('herald_process_resident_memory_bytes') ?? 0) > 0);

  for (const c of [a2, all, resumed]) c.close();
});

test('/healthz is always ok; /readyz turns 503 once the hub is shutting down', async () => {
  const health = await httpRequest(`${h.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.text, 'ok\n');
  const ready = await httpRequest(`${h.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.text, 'ready (memory)\n');

  const other = await startHerald({ port: 0, host: '127.0.0.1', logLevel: 'silent', heartbeat: 0 });
  try {
    await other.hub.close(); // the hub stops, the HTTP server is still up
    const r = await httpRequest(`${other.url}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(r.text, 'shutting down\n');
    assert.equal((await httpRequest(`${other.url}/healthz`)).status, 200);
    const m = parse((await httpRequest(`${other.url}/metrics`)).text);
    assert.equal(m.get('herald_broker_up{kind="memory"}'), 0);
  } finally {
    await other.close();
  }
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}
