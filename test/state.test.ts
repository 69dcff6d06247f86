import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import type { SnapshotPayload, StatePayload } from '../src/protocol/state.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { openSse, type SseStream } from './support/sse-events.ts';

const KEY = 'state-test-secret-state-test-secret';
let hub: RunningHerald;
let pubToken: string;
let subToken: string;
let adminToken: string;
const streams: SseStream[] = [];

before(async () => {
  hub = await startHerald({ port: 0, host: '127.0.0.1', jwtKey: KEY, anonymous: true, logLevel: 'silent' });
  pubToken = await mintToken({ secret: KEY, publish: ['*'] });
  subToken = await mintToken({ secret: KEY, subscribe: ['https://ex.com/private/{x}'] });
  adminToken = await mintToken({ secret: KEY, subscribe: ['*'], admin: true });
});
after(async () => {
  for (const s of streams) s.close();
  await hub.close();
});

const hubUrl = (q: string) => `${hub.url}/.well-known/mercure?${q}`;

async function subscribe(query: string, token?: string): Promise<SseStream> {
  const s = await openSse(hubUrl(query), token);
  streams.push(s);
  return s;
}

async function publishJson(body: unknown): Promise<Response> {
  return fetch(hubUrl(''), {
    method: 'POST',
    headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function publishForm(fields: Record<string, string>): Promise<Response> {
  return fetch(hubUrl(''), {
    method: 'POST',
    headers: { Authorization: `Bearer ${pubToken}` },
    body: new URLSearchParams(fields),
  });
}

async function ok(r: Promise<Response>): Promise<string> {
  const res = await r;
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

const isSnapshot = (e: { event?: string | undefined }) => e.event === 'herald.snapshot';

test('a snapshot subscriber gets the retained state first, then merged states as herald.state', async () => {
  await ok(publishJson({ topics: 'https://ex.com/s/1', retain: true, data: { indexed: 5, status: 'idle' } }));
  const s = await subscribe(`topic=${encodeURIComponent('https://ex.com/s/1')}&snapshot=1`);
  const snap = JSON.parse((await s.waitFor(isSnapshot)).data) as SnapshotPayload;
  assert.equal(snap.truncated, false);
  assert.deepEqual(
    snap.states.map((x) => [x.topic, x.state]),
    [['https://ex.com/s/1', { indexed: 5, status: 'idle' }]],
  );
  const id = await ok(
    publishJson({ topics: 'https://ex.com/s/1', patch: { status: 'running', $inc: { indexed: 2 } } }),
  );
  const ev = await s.waitFor((e) => e.event === 'herald.state');
  assert.equal(ev.id, id);
  const payload = JSON.parse(ev.data) as StatePayload;
  assert.deepEqual(payload.state, { indexed: 7, status: 'running' });
  assert.equal(payload.topic, 'https://ex.com/s/1');
  assert.ok(payload.version > snap.states[0]!.version);
});

test('a plain Mercure subscriber receives the merged state as ordinary update data', async () => {
  const s = await subscribe(`topic=${encodeURIComponent('https://ex.com/plain')}`);
  await ok(publishForm({ topic: 'https://ex.com/plain', patch: '1', data: '{"$inc":{"n":3}}' }));
  await ok(publishForm({ topic: 'https://ex.com/plain', patch: 'on', data: '{"$inc":{"n":3}}' }));
  const second = await s.waitFor((e) => JSON.parse(e.data).n === 6);
  assert.equal(second.event, undefined);
});

test('a template snapshot lists every matching topic and hides private states from others', async () => {
  await ok(publishJson({ topics: 'https://ex.com/jobs/a', patch: { done: 1 } }));
  await ok(publishJson({ topics: 'https://ex.com/jobs/b', patch: { done: 2 } }));
  await ok(publishJson({ topics: 'https://ex.com/other', patch: { done: 3 } }));
  await ok(publishJson({ topics: 'https://ex.com/private/p', patch: { secret: 1 }, private: true }));
  const sel = encodeURIComponent('https://ex.com/jobs/{id}');
  const s = await subscribe(`topic=${sel}&snapshot=1`);
  const snap = JSON.parse((await s.waitFor(isSnapshot)).data) as SnapshotPayload;
  assert.deepEqual(snap.states.map((x) => x.topic).sort(), [
    'https://ex.com/jobs/a',
    'https://ex.com/jobs/b',
  ]);

  const privSel = encodeURIComponent('https://ex.com/private/{x}');
  const anon = await subscribe(`topic=${privSel}&snapshot=1`);
  assert.deepEqual((JSON.parse((await anon.waitFor(isSnapshot)).data) as SnapshotPayload).states, []);
  const allowed = await subscribe(`topic=${privSel}&snapshot=1`, subToken);
  const got = JSON.parse((await allowed.waitFor(isSnapshot)).data) as SnapshotPayload;
  assert.deepEqual(
    got.states.map((x) => x.state),
    [{ secret: 1 }],
  );
});

test('subscribers joining while publishers increment see every change exactly once after their snapshot', async () => {
  const topic = 'https://ex.com/seam';
  const publishers = 4;
  const perPublisher = 150;
  let stop = false;
  const pumping = Array.from({ length: publishers }, async () => {
    for (let i = 0; i < perPublisher && !stop; i++)
      await ok(publishJson({ topics: topic, patch: { $inc: { n: 1 } } }));
  });
  const joined: SseStream[] = [];
  for (let i = 0; i < 6; i++) {
    joined.push(await subscribe(`topic=${encodeURIComponent(topic)}&snapshot=1`));
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pumping);
  stop = true;
  const total = publishers * perPublisher;
  for (const s of joined) {
    await s
      .waitFor((e) => e.event === 'herald.state' && JSON.parse(e.data).state.n === total, 10_000)
      .catch(async (e) => {
        // A subscriber whose snapshot already had the final total gets no state event.
        const snap = JSON.parse(s.events.find(isSnapshot)!.data) as SnapshotPayload;
        if ((snap.states[0]?.state as { n?: number } | undefined)?.n !== total) throw e;
      });
    const snap = JSON.parse(s.events.find(isSnapshot)!.data) as SnapshotPayload;
    const counts = [
      (snap.states[0]?.state as { n?: number } | undefined)?.n ?? 0,
      ...s.events
        .filter((e) => e.event === 'herald.state')
        .map((e) => (JSON.parse(e.data) as StatePayload).state),
    ].map((x) => (typeof x === 'number' ? x : (x as { n: number }).n));
    // No gap (every value from the snapshot up), no duplicate, no step back.
    for (let i = 1; i < counts.length; i++)
      assert.equal(counts[i], counts[i - 1]! + 1, `at ${i}: ${counts.join(',')}`);
    assert.equal(counts.at(-1), total);
  }
});

test('a throttled subscriber gets at most one state per interval and always the latest', async () => {
  const topic = 'https://ex.com/fast';
  const throttled = await subscribe(`topic=${encodeURIComponent(topic)}&snapshot=1&throttle=100`);
  await throttled.waitFor(isSnapshot);
  const started = Date.now();
  const batches = 40;
  const perBatch = 100;
  // Batches of increments, as fast as the hub takes them (thousands of updates per second
  // on an idle machine; the bounds below hold at any speed).
  for (let b = 0; b < batches; b++)
    await ok(
      publishJson(Array.from({ length: perBatch }, () => ({ topics: topic, patch: { $inc: { n: 1 } } }))),
    );
  const total = batches * perBatch;
  await throttled.waitFor(
    (e) =>
      e.event === 'herald.state' &&
      (JSON.parse(e.data) as StatePayload & { state: { n: number } }).state.n === total,
    10_000,
  );
  const elapsed = Date.now() - started;
  const received = throttled.events.filter((e) => e.event === 'herald.state');
  assert.ok(received.length <= elapsed / 100 + 2, `${received.length} events in ${elapsed} ms`);
  assert.ok(received.length < total / 10, `${received.length} events for ${total} updates`);
  const counts = received.map((e) => (JSON.parse(e.data) as { state: { n: number } }).state.n);
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! > counts[i - 1]!, counts.join(','));
});

test('throttle applies per topic: two busy topics each get their latest', async () => {
  const a = 'https://ex.com/multi/a';
  const b = 'https://ex.com/multi/b';
  const s = await subscribe(
    `topic=${encodeURIComponent('https://ex.com/multi/{x}')}&throttle=200&snapshot=1`,
  );
  await s.waitFor(isSnapshot);
  for (let i = 1; i <= 20; i++) {
    await ok(
      publishJson([
        { topics: a, patch: { i } },
        { topics: b, patch: { i } },
      ]),
    );
  }
  for (const t of [a, b])
    await s.waitFor(
      (e) =>
        e.event === 'herald.state' && JSON.parse(e.data).topic === t && JSON.parse(e.data).state.i === 20,
    );
});

test('bad state input is refused with a clear code and changes nothing', async () => {
  const topic = 'https://ex.com/bad';
  await ok(publishJson({ topics: topic, retain: true, data: { label: 'x', n: 1 } }));
  const cases: [Promise<Response>, number, string][] = [
    [publishJson({ topics: topic, patch: [1, 2] }), 400, 'HERALD_ERR_BAD_PATCH'],
    [publishJson({ topics: topic, patch: { $inc: { label: 1 } } }), 400, 'HERALD_ERR_BAD_PATCH'],
    [publishJson({ topics: topic, patch: { $inc: { n: 'one' } } }), 400, 'HERALD_ERR_BAD_PATCH'],
    [publishJson({ topics: topic, patch: { $set: 1 } }), 400, 'HERALD_ERR_BAD_PATCH'],
    [publishJson({ topics: topic, patch: { $rate: { n: 0 } } }), 400, 'HERALD_ERR_BAD_PATCH'],
    [publishJson({ topics: topic, patch: {}, data: 'x' }), 400, 'HERALD_ERR_BAD_BODY'],
    [publishJson({ topics: topic, retain: 'yes', data: 'x' }), 400, 'HERALD_ERR_BAD_BODY'],
    [publishForm({ topic, patch: '1', data: '{not json' }), 400, 'HERALD_ERR_BAD_PATCH'],
    [publishJson({ topics: topic, patch: { big: 'x'.repeat(70_000) } }), 413, 'HERALD_ERR_STATE_TOO_LARGE'],
    [fetch(hubUrl(`topic=${topic}&throttle=abc`)), 400, 'HERALD_ERR_BAD_THROTTLE'],
    [fetch(hubUrl(`topic=${topic}&throttle=0`)), 400, 'HERALD_ERR_BAD_THROTTLE'],
    [fetch(hubUrl(`topic=${topic}&throttle=600000`)), 400, 'HERALD_ERR_BAD_THROTTLE'],
    [fetch(hubUrl(`topic=${topic}&snapshot=maybe`)), 400, 'HERALD_ERR_BAD_REQUEST'],
  ];
  for (const [p, status, code] of cases) {
    const res = await p;
    const text = await res.text();
    assert.equal(res.status, status, `${code}: ${text}`);
    assert.equal(res.headers.get('x-herald-error'), code, text);
    assert.ok(text.trim().length > 0 && !text.trim().includes('\n'));
  }
  assert.deepEqual((await hub.hub.state!.get(topic))?.state, { label: 'x', n: 1 });
});

test('a batch stops at the first refused change but publishes the ones before it', async () => {
  const topic = 'https://ex.com/batch';
  const s = await subscribe(`topic=${encodeURIComponent(topic)}&snapshot=1`);
  await s.waitFor(isSnapshot);
  const res = await publishJson([
    { topics: topic, patch: { name: 'x', n: 1 } },
    { topics: topic, patch: { $inc: { name: 1 } } },
    { topics: topic, patch: { n: 3 } },
  ]);
  assert.equal(res.status, 400);
  const ev = await s.waitFor((e) => e.event === 'herald.state');
  assert.deepEqual(JSON.parse(ev.data).state, { name: 'x', n: 1 });
  assert.deepEqual((await hub.hub.state!.get(topic))?.state, { name: 'x', n: 1 });
});

test('a null patch removes the state: subscribers get state null and later snapshots omit it', async () => {
  const topic = 'https://ex.com/removed';
  await ok(publishJson({ topics: topic, patch: { a: 1 } }));
  const s = await subscribe(`topic=${encodeURIComponent(topic)}&snapshot=1`);
  await s.waitFor(isSnapshot);
  await ok(publishJson({ topics: topic, patch: null }));
  const ev = await s.waitFor((e) => e.event === 'herald.state');
  assert.equal(JSON.parse(ev.data).state, null);
  const later = await subscribe(`topic=${encodeURIComponent(topic)}&snapshot=1`);
  assert.deepEqual(JSON.parse((await later.waitFor(isSnapshot)).data).states, []);
});

test('resuming with snapshot skips replayed states older than the snapshot but keeps other updates', async () => {
  const topic = 'https://ex.com/resume';
  const first = await ok(publishJson({ topics: topic, patch: { n: 1 } }));
  await ok(publishJson({ topics: topic, data: 'plain event' }));
  await ok(publishJson({ topics: topic, patch: { n: 2 } }));
  const s = await subscribe(`topic=${encodeURIComponent(topic)}&snapshot=1&lastEventID=${first}`);
  await s.waitFor((e) => e.data === 'plain event');
  const snap = JSON.parse(s.events.find(isSnapshot)!.data) as SnapshotPayload;
  assert.deepEqual(snap.states[0]!.state, { n: 2 });
  assert.equal(s.events.filter((e) => e.event === 'herald.state').length, 0);
});

test('the dashboard stats show each subscribed topic with its retained state', async () => {
  const topic = 'https://ex.com/dash';
  const s = await subscribe(`topic=${encodeURIComponent(topic)}`);
  await ok(publishJson({ topics: topic, patch: { $inc: { hits: 2 } } }));
  await s.waitFor(() => true);
  const stats = hub.hub.statsSnapshot();
  assert.deepEqual(stats.topics.find((t) => t.topic === topic)?.retained, { hits: 2 });
  void adminToken;
});
