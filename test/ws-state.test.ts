import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import type { SnapshotPayload, StatePayload } from '../src/protocol/state.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { WsProbe, type Msg } from './support/ws-probe.ts';

const SECRET = 'ws-state-secret-ws-state-secret-1234';

const isSnapshot = (m: Msg): boolean => m['op'] === 'event' && m['type'] === 'herald.snapshot';
const isState = (m: Msg): boolean => m['op'] === undefined && m['type'] === 'herald.state';
const stateOf = (m: Msg): StatePayload => JSON.parse(m['data'] as string) as StatePayload;
const countOf = (s: StatePayload | undefined): number => (s?.state as { n?: number } | null)?.n ?? 0;

describe('state topics over WebSocket', () => {
  let h: RunningHerald;
  let wsUrl: string;
  let pub: string;

  before(async () => {
    h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      jwtKey: SECRET,
      anonymous: true,
      logLevel: 'silent',
    });
    wsUrl = `ws://127.0.0.1:${h.port}/.well-known/mercure/ws`;
    pub = await mintToken({ secret: SECRET, publish: ['*'] });
  });
  after(() => h.close());

  async function publish(body: unknown): Promise<string[]> {
    const res = await fetch(`${h.url}/.well-known/mercure`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.text()).split('\n');
  }

  async function connect(): Promise<WsProbe> {
    const c = new WsProbe(wsUrl);
    await c.opened;
    return c;
  }

  test('a snapshot subscriber gets the ack, the snapshot event, then each change as a herald.state update', async () => {
    const topic = 'https://ex.com/ws-state/1';
    await publish({ topics: topic, patch: { $inc: { n: 2 }, label: 'a' } });
    const c = await connect();
    c.send({ op: 'subscribe', topics: [topic], snapshot: true, ref: 'a' });
    assert.equal((await c.op('subscribed'))['ref'], 'a');
    const snap = await c.next(isSnapshot);
    assert.equal(c.messages.length, 0, 'nothing before the snapshot but the ack');
    const payload = snap['data'] as SnapshotPayload;
    assert.equal(payload.truncated, false);
    assert.equal(payload.states.length, 1);
    assert.equal(payload.states[0]!.topic, topic);
    assert.deepEqual(payload.states[0]!.state, { n: 2, label: 'a' });

    const [id] = await publish({ topics: topic, patch: { $inc: { n: 1 } } });
    const frame = await c.update();
    assert.equal(frame['id'], id);
    assert.equal(frame['type'], 'herald.state');
    assert.deepEqual(frame['topics'], [topic]);
    const st = stateOf(frame);
    assert.deepEqual(st.state, { n: 3, label: 'a' });
    assert.ok(st.version > payload.states[0]!.version);

    // An ordinary publish on the same topic is still an ordinary update.
    await publish({ topics: topic, data: 'plain' });
    const plain = await c.update();
    assert.equal(plain['type'], undefined);
    assert.equal(plain['data'], 'plain');
    await c.close();
  });

  test('a plain subscriber on the same topic receives the merged state as ordinary data', async () => {
    const topic = 'https://ex.com/ws-state/plain';
    const c = await connect();
    c.send({ op: 'subscribe', topics: [topic] });
    await c.op('subscribed');
    await publish({ topics: topic, patch: { $inc: { n: 5 } } });
    const u = await c.update();
    assert.equal(u['type'], undefined);
    assert.deepEqual(JSON.parse(u['data'] as string), { n: 5 });
    assert.equal(c.messages.filter(isSnapshot).length, 0);
    await c.close();
  });

  test('connections joining while publishers increment see every change exactly once after their snapshot', async () => {
    const topic = 'https://ex.com/ws-state/seam';
    const publishers = 4;
    const perPublisher = 50;
    const pumping = Array.from({ length: publishers }, async () => {
      for (let i = 0; i < perPublisher; i++) await publish({ topics: topic, patch: { $inc: { n: 1 } } });
    });
    const joined: WsProbe[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await connect();
      c.send({ op: 'subscribe', topics: [topic], snapshot: true });
      await c.seen(isSnapshot);
      joined.push(c);
    }
    await Promise.all(pumping);
    const total = publishers * perPublisher;
    for (const c of joined) {
      const snap = c.messages.find(isSnapshot)!['data'] as SnapshotPayload;
      const fromSnapshot = countOf(snap.states[0]);
      // A connection whose snapshot already had the final total gets no state update.
      if (fromSnapshot !== total) await c.seen((m) => isState(m) && countOf(stateOf(m)) === total, 10_000);
      const seen = [fromSnapshot, ...c.messages.filter(isState).map((m) => countOf(stateOf(m)))];
      for (let i = 1; i < seen.length; i++)
        assert.equal(seen[i], seen[i - 1]! + 1, `no gap, duplicate or step back: ${seen.join(',')}`);
      await c.close();
    }
  });

  test('a throttled connection gets at most one state per interval, always the latest', async () => {
    const topic = 'https://ex.com/ws-state/fast';
    const c = await connect();
    c.send({ op: 'subscribe', topics: [topic], snapshot: true, throttle: 100 });
    await c.next(isSnapshot);
    const started = Date.now();
    const batches = 15;
    const perBatch = 100;
    for (let b = 0; b < batches; b++)
      await publish(Array.from({ length: perBatch }, () => ({ topics: topic, patch: { $inc: { n: 1 } } })));
    const total = batches * perBatch;
    await c.seen((m) => isState(m) && countOf(stateOf(m)) === total, 10_000);
    const elapsed = Date.now() - started;
    const counts = c.messages.filter(isState).map((m) => countOf(stateOf(m)));
    assert.ok(counts.length <= elapsed / 100 + 2, `${counts.length} states in ${elapsed} ms`);
    assert.ok(counts.length < total / 10, `${counts.length} states for ${total} changes`);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! > counts[i - 1]!, counts.join(','));
    await c.close();
  });

  test('a later subscribe op snapshots only the topics it adds and can switch on a throttle', async () => {
    const a = 'https://ex.com/ws-state/later/a';
    const b = 'https://ex.com/ws-state/later/b';
    await publish([
      { topics: a, patch: { $inc: { n: 1 } } },
      { topics: b, patch: { $inc: { n: 10 } } },
    ]);
    const c = await connect();
    c.send({ op: 'subscribe', topics: [a] });
    await c.op('subscribed');
    c.send({
      op: 'subscribe',
      topics: [a, 'https://ex.com/ws-state/later/{x}'],
      snapshot: true,
      throttle: 200,
    });
    assert.deepEqual((await c.op('subscribed'))['topics'], ['https://ex.com/ws-state/later/{x}']);
    const snap = (await c.next(isSnapshot))['data'] as SnapshotPayload;
    assert.deepEqual(snap.states.map((s) => s.topic).sort(), [a, b]);

    // Now throttled: a burst on one topic arrives as its first change and then the latest.
    for (let i = 0; i < 20; i++) await publish({ topics: b, patch: { $inc: { n: 1 } } });
    await c.seen((m) => isState(m) && countOf(stateOf(m)) === 30, 5000);
    const got = c.messages.filter(isState).map((m) => countOf(stateOf(m)));
    assert.ok(got.length < 20, `throttled: ${got.join(',')}`);
    await c.close();
  });

  test('bad snapshot or throttle values get an error frame and the connection keeps working', async () => {
    const c = await connect();
    const topic = 'https://ex.com/ws-state/bad';
    const cases: [unknown, unknown, string][] = [
      [true, 0, 'HERALD_ERR_BAD_THROTTLE'],
      [true, 60_001, 'HERALD_ERR_BAD_THROTTLE'],
      [true, 1.5, 'HERALD_ERR_BAD_THROTTLE'],
      [true, '100', 'HERALD_ERR_BAD_THROTTLE'],
      [true, null, 'HERALD_ERR_BAD_THROTTLE'],
      ['yes', undefined, 'HERALD_ERR_BAD_REQUEST'],
      [1, undefined, 'HERALD_ERR_BAD_REQUEST'],
    ];
    for (const [i, [snapshot, throttle, code]] of cases.entries()) {
      c.send({ op: 'subscribe', topics: [topic], snapshot, throttle, ref: i });
      const err = await c.op('error');
      assert.equal(err['code'], code, JSON.stringify({ snapshot, throttle }));
      assert.equal(err['ref'], i);
      assert.match(String(err['message']), /throttle|snapshot/);
    }
    assert.equal([...h.hub.subscriptions()].filter((s) => s.sink.transport === 'ws').length, 0);
    c.send({ op: 'subscribe', topics: [topic], snapshot: true, throttle: 60_000 });
    await c.op('subscribed');
    assert.deepEqual((await c.next(isSnapshot))['data'], { states: [], truncated: false });
    // Also refused on a later op, and the live subscription is left as it was.
    c.send({ op: 'subscribe', topics: ['https://ex.com/ws-state/other'], throttle: -5, ref: 'late' });
    assert.equal((await c.op('error'))['code'], 'HERALD_ERR_BAD_THROTTLE');
    const sub = [...h.hub.subscriptions()].find((s) => s.sink.transport === 'ws')!;
    assert.deepEqual(
      sub.selectors.map((s) => s.source),
      [topic],
    );
    assert.equal(sub.conflation?.intervalMs, 60_000);
    await c.close();
  });
});
