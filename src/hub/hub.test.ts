import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { MemoryBroker } from '../broker/memory.ts';
import type { EncodedUpdate } from '../protocol/frames.ts';
import { SelectorSet } from '../protocol/matchers.ts';
import { eventually } from '../../test/support/wait.ts';
import { Hub } from './hub.ts';
import type { CloseReason, OpenInfo, Sink } from './sink.ts';

/** A sink that records what the hub asked it to write (the hub's own seam, not an external service). */
class RecordingSink implements Sink {
  readonly transport = 'sse' as const;
  opened: OpenInfo | undefined;
  sent: EncodedUpdate[] = [];
  notices: string[] = [];
  heartbeats = 0;
  closed: CloseReason | undefined;
  open(info: OpenInfo) {
    this.opened = info;
  }
  send(u: EncodedUpdate) {
    this.sent.push(u);
  }
  notice(type: string) {
    this.notices.push(type);
  }
  heartbeat() {
    this.heartbeats++;
  }
  close(reason: CloseReason) {
    this.closed = reason;
  }
}

const publisher: Principal = { ...ANONYMOUS, anonymous: false, publish: new SelectorSet(['*']) };
const reader = (claims: string[]): Principal => ({
  ...ANONYMOUS,
  anonymous: false,
  subscribe: new SelectorSet(claims),
});

async function makeHub() {
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 100, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 0,
  });
  await hub.start();
  return hub;
}

describe('Hub', () => {
  test('one update matched by several selectors is sent once, as the same bytes to every subscriber', async () => {
    const hub = await makeHub();
    const a = new RecordingSink();
    const b = new RecordingSink();
    await hub.subscribe({ selectors: ['t/1', 't/{x}', '*'], principal: ANONYMOUS, sink: a });
    await hub.subscribe({ selectors: ['t/1'], principal: ANONYMOUS, sink: b });
    await hub.publish([{ topics: ['t/1', 't/2'], data: 'x', private: false }], publisher);
    assert.equal(a.sent.length, 1);
    assert.equal(b.sent.length, 1);
    assert.equal(a.sent[0], b.sent[0], 'one EncodedUpdate shared by all sinks');
    assert.equal(hub.counters.delivered, 2);
  });

  test('subscribers of unrelated topics are not visited', async () => {
    const hub = await makeHub();
    const other = new RecordingSink();
    await hub.subscribe({ selectors: ['other'], principal: ANONYMOUS, sink: other });
    await hub.publish([{ topics: ['t'], data: 'x', private: false }], publisher);
    assert.equal(other.sent.length, 0);
  });

  test('private updates go only to principals whose subscribe claim matches a topic', async () => {
    const hub = await makeHub();
    const anon = new RecordingSink();
    const ok = new RecordingSink();
    const no = new RecordingSink();
    await hub.subscribe({ selectors: ['*'], principal: ANONYMOUS, sink: anon });
    await hub.subscribe({ selectors: ['*'], principal: reader(['t/{id}']), sink: ok });
    await hub.subscribe({ selectors: ['*'], principal: reader(['u/{id}']), sink: no });
    await hub.publish([{ topics: ['t/1'], data: 'secret', private: true }], publisher);
    assert.deepEqual([anon.sent.length, ok.sent.length, no.sent.length], [0, 1, 0]);
  });

  test('publishing outside the publish claim is refused and nothing is delivered', async () => {
    const hub = await makeHub();
    const s = new RecordingSink();
    await hub.subscribe({ selectors: ['*'], principal: ANONYMOUS, sink: s });
    const limited: Principal = { ...publisher, publish: new SelectorSet(['a/{x}']) };
    await assert.rejects(
      hub.publish([{ topics: ['a/1', 'b/1'], data: '', private: false }], limited),
      /may not publish to topic "b\/1"/,
    );
    await assert.rejects(
      hub.publish([{ topics: ['a/1'], data: '', private: false }], ANONYMOUS),
      /no mercure.publish claim/,
    );
    assert.equal(s.sent.length, 0);
  });

  test('unsubscribe removes the subscription from every index and closes its sink once', async () => {
    const hub = await makeHub();
    const s = new RecordingSink();
    const sub = await hub.subscribe({ selectors: ['t', 't/{x}', '*'], principal: ANONYMOUS, sink: s });
    hub.unsubscribe(sub, 'client');
    hub.unsubscribe(sub, 'error');
    assert.equal(s.closed, 'client');
    await hub.publish([{ topics: ['t'], data: 'x', private: false }], publisher);
    assert.equal(s.sent.length, 0);
    assert.equal(hub.connectionCount, 0);
  });

  test('close tells every subscriber the hub is shutting down and refuses new work', async () => {
    const hub = await makeHub();
    const s = new RecordingSink();
    await hub.subscribe({ selectors: ['*'], principal: ANONYMOUS, sink: s });
    await hub.close();
    assert.equal(s.closed, 'shutdown');
    await assert.rejects(
      hub.subscribe({ selectors: ['*'], principal: ANONYMOUS, sink: new RecordingSink() }),
      /shutting down/,
    );
  });

  test('heartbeats go to every subscriber from one shared timer', async () => {
    const hub = new Hub({
      broker: new MemoryBroker({ historySize: 0, historyTtlMs: 0 }),
      heartbeatMs: 20,
      statsIntervalMs: 0,
    });
    await hub.start();
    const sinks = [new RecordingSink(), new RecordingSink()];
    for (const sink of sinks) await hub.subscribe({ selectors: ['*'], principal: ANONYMOUS, sink });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (sinks.every((s) => s.heartbeats >= 2)) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await hub.close();
  });

  test('admins that ask for the stats topic get node statistics', async () => {
    const hub = new Hub({
      broker: new MemoryBroker({ historySize: 0, historyTtlMs: 0 }),
      heartbeatMs: 0,
      statsIntervalMs: 10,
    });
    await hub.start();
    const admin = new RecordingSink();
    const plain = new RecordingSink();
    await hub.subscribe({
      selectors: ['/.well-known/herald/stats'],
      principal: { ...reader(['*']), admin: true },
      sink: admin,
    });
    // An admin's `*` subscription does not get stats: only those who ask for the topic do.
    await hub.subscribe({ selectors: ['*'], principal: { ...reader(['*']), admin: true }, sink: plain });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (admin.notices.length > 0) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    assert.equal(admin.notices[0], 'herald.stats');
    assert.equal(plain.notices.length, 0);
    const snap = hub.statsSnapshot();
    // The stats watcher is a monitor: left out of the connections it reports, and counted apart.
    assert.equal(snap.connections.total, 1);
    assert.equal(snap.connections.monitors, 1);
    assert.equal(snap.broker.kind, 'memory');
    await hub.close();
  });
});

test('a non-admin asking for the stats topic is refused with 403', async () => {
  const hub = await makeHub();
  await assert.rejects(
    hub.subscribe({
      selectors: ['/.well-known/herald/stats'],
      principal: reader(['*']),
      sink: new RecordingSink(),
    }),
    (e: unknown) =>
      (e as { status?: number }).status === 403 && /needs an admin token/.test((e as Error).message),
  );
});

test('stats list published topics with the subscriptions matching them, then the selectors nobody published to', async () => {
  const hub = await makeHub();
  await hub.subscribe({ selectors: ['/books/{id}'], principal: ANONYMOUS, sink: new RecordingSink() });
  await hub.subscribe({ selectors: ['/books/1'], principal: ANONYMOUS, sink: new RecordingSink() });
  await hub.subscribe({ selectors: ['*'], principal: ANONYMOUS, sink: new RecordingSink() });
  await hub.subscribe({ selectors: ['/quiet'], principal: ANONYMOUS, sink: new RecordingSink() });
  const t0 = Date.now();
  for (let i = 0; i < 3; i++)
    await hub.publish([{ topics: ['/books/1', '/alt/1'], data: 'x', private: false }], publisher);
  await hub.publish([{ topics: ['/other'], data: 'y', private: false }], publisher);
  hub.sampleRates(t0 + 1000);

  const rows = hub.statsSnapshot((topic) => (topic === '/books/1' ? { n: 3 } : undefined), t0 + 1000).topics;
  const row = (topic: string) => rows.find((r) => r.topic === topic);
  const { updatesPerSec, ...books } = row('/books/1')!;
  assert.deepEqual(books, {
    topic: '/books/1',
    pattern: false,
    subscribers: 3,
    updates: 3,
    retained: { n: 3 },
  });
  // The window starts when the first update is seen (a millisecond or so after t0).
  assert.ok(updatesPerSec > 2.9 && updatesPerSec <= 3, `about 3 updates/s, got ${updatesPerSec}`);
  assert.equal(row('/other')?.subscribers, 1, 'only the * subscription matches it');
  assert.equal(row('/alt/1'), undefined, 'alternate topics are not counted as topics of their own');
  assert.deepEqual(row('/books/{id}'), {
    topic: '/books/{id}',
    pattern: true,
    subscribers: 1,
    updates: 0,
    updatesPerSec: 0,
    retained: null,
  });
  assert.equal(row('*')?.pattern, true);
  assert.equal(row('/quiet')?.pattern, false, 'an exact selector is a topic, even before anyone publishes');
  assert.equal(rows.filter((r) => r.topic === '/books/1').length, 1, 'a topic is listed once');
  await hub.close();
});

test('stats rates are averaged over the window and reading them twice gives the same numbers', async () => {
  const hub = await makeHub();
  const t0 = Date.now();
  for (let s = 1; s <= 6; s++) {
    const n = s % 2 === 0 ? 3 : 2;
    for (let i = 0; i < n; i++) await hub.publish([{ topics: ['/t'], data: 'x', private: false }], publisher);
    hub.sampleRates(t0 + s * 1000);
  }
  const first = hub.statsSnapshot(undefined, t0 + 6000);
  const second = hub.statsSnapshot(undefined, t0 + 6000);
  assert.deepEqual(first.rates, second.rates);
  assert.equal(first.rates.windowSeconds, 5);
  assert.equal(first.rates.publishedPerSec, (3 + 2 + 3 + 2 + 3) / 5);
  assert.equal(first.topics[0]?.updatesPerSec, first.rates.publishedPerSec);
  await hub.close();
});

test('subscription events (one topic per subscriber) stay out of the stats topic list', async () => {
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 100, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 0,
    subscriptionEventsPath: '/.well-known/mercure',
  });
  await hub.start();
  const watcher = new RecordingSink();
  await hub.subscribe({ selectors: ['*'], principal: reader(['*']), sink: watcher });
  await hub.subscribe({ selectors: ['/a'], principal: ANONYMOUS, sink: new RecordingSink() });
  await hub.publish([{ topics: ['/a'], data: 'x', private: false }], publisher);
  // Subscription events leave coalesced, after one presence interval.
  await eventually(
    () => watcher.sent.some((u) => u.update.topics[0]!.startsWith('/.well-known/mercure/subscriptions/')),
    'subscription events dispatched',
  );
  const listed = hub.statsSnapshot().topics.map((r) => r.topic);
  assert.deepEqual(
    listed.filter((t) => t.includes('/subscriptions/')),
    [],
  );
  assert.ok(listed.includes('/a'));
  await hub.close();
});
