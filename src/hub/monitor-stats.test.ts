import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANONYMOUS, type Principal } from '../auth/principal.ts';
import { MemoryBroker } from '../broker/memory.ts';
import { SelectorSet } from '../protocol/matchers.ts';
import { STATS_TOPIC, type HubStatsSnapshot } from '../protocol/stats.ts';
import { RecordingSink } from '../../test/support/recording-sink.ts';
import { Hub } from './hub.ts';
import { mergeStats, type NodeView } from './node-view.ts';
import { RateHistory } from './stats.ts';

/** Keeps the stats events a subscriber was sent, with their bodies. */
class StatsSink extends RecordingSink {
  get stats(): HubStatsSnapshot[] {
    return this.notices.filter((n) => n.type === 'herald.stats').map((n) => n.data as HubStatsSnapshot);
  }
}

const publisher: Principal = { ...ANONYMOUS, anonymous: false, publish: new SelectorSet(['*']) };
const admin: Principal = {
  ...ANONYMOUS,
  anonymous: false,
  subject: 'ops',
  admin: true,
  subscribe: new SelectorSet(['*']),
};

/** Stats on at the default 1 s; the tests take their own samples, at times of their choosing. */
async function hubWithStats(): Promise<Hub> {
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 0, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 1000,
  });
  await hub.start();
  return hub;
}

test('a dashboard that connects gets the stats at once, with the rate history of the last minutes', async (t) => {
  // The hub's own 1 s timer would slip a sample at the real time in among the ones this test
  // takes at times of its choosing (and skew their rates): with setInterval mocked it never fires.
  t.mock.timers.enable({ apis: ['setInterval'] });
  const hub = await hubWithStats();
  const t0 = Date.now();
  for (let s = 1; s <= 8; s++) {
    await hub.publish([{ topics: ['/t'], data: 'x', private: false }], publisher);
    hub.sampleRates(t0 + s * 1000);
  }
  const dashboard = new StatsSink();
  await hub.subscribe({ selectors: [STATS_TOPIC, '*'], principal: admin, sink: dashboard });
  assert.equal(dashboard.stats.length, 1, 'the first stats event is sent on subscribe, not a tick later');
  // The samples this test took (the hub's start may have taken one at t0).
  const history = (dashboard.stats[0]!.history ?? []).filter((h) => h.time > t0 + 500);
  assert.deepEqual(
    history.map((h) => h.time),
    Array.from({ length: 8 }, (_, i) => t0 + (i + 1) * 1000),
  );
  // One update a second: every sample after the first reads 1/s. The first one's interval
  // starts at the hub's start-up sample, which a loaded machine may take well before t0.
  assert.ok(history[0]!.publishedPerSec > 0.5, `first sample: published ${history[0]!.publishedPerSec}/s`);
  for (const h of history.slice(1))
    assert.ok(Math.abs(h.publishedPerSec - 1) < 0.01, `published ${h.publishedPerSec}/s`);
  await hub.close();
});

test("with other worker processes, the first stats and their rate history are the whole node's", async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  // Another worker of this node, as the NodeView reports it: 3 connections, 10 publishes/s.
  const other: HubStatsSnapshot = {
    time: 0,
    broker: { kind: 'memory', ready: true },
    connections: { total: 3, byTransport: { sse: 3, ws: 0 }, bySubject: {}, monitors: 0 },
    totals: { published: 80, delivered: 0 },
    rates: { publishedPerSec: 10, deliveredPerSec: 0, windowSeconds: 5 },
    topics: [],
    refusals: {},
  };
  const node: NodeView = {
    othersConnections: () => other.connections.total,
    connectionsChanged: () => {},
    othersHolding: () => 0,
    keyChanged: () => {},
    nodeStats: (local) => mergeStats(local, [other]),
  };
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 0, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 1000,
    node,
  });
  await hub.start();
  const t0 = Date.now();
  for (let s = 1; s <= 6; s++) {
    await hub.publish([{ topics: ['/t'], data: 'x', private: false }], publisher);
    hub.sampleRates(t0 + s * 1000);
  }
  const dashboard = new StatsSink();
  await hub.subscribe({ selectors: [STATS_TOPIC], principal: admin, sink: dashboard });
  const first = dashboard.stats[0]!;
  assert.equal(first.processes, 2, 'the first event covers both processes, as every later one does');
  assert.equal(first.connections.total, 3, "the other worker's connections (the dashboard is left out)");
  const history = (first.history ?? []).filter((h) => h.time > t0 + 500);
  assert.equal(history.length, 6);
  // This process publishes 1/s, the other 10/s: each sample reads the node's 11/s.
  for (const h of history)
    assert.ok(Math.abs(h.publishedPerSec - 11) < 0.05, `published ${h.publishedPerSec}/s`);
  await hub.close();
});

test('the rate history is a bounded ring: it keeps the newest samples, oldest first', () => {
  const ring = new RateHistory(3);
  for (let i = 1; i <= 5; i++) ring.record({ time: i, publishedPerSec: i, deliveredPerSec: 0 });
  assert.deepEqual(
    ring.samples().map((s) => s.time),
    [3, 4, 5],
  );
  assert.equal(RateHistory.capacityFor(120, 1000), 120);
  assert.equal(RateHistory.capacityFor(120, 60_000), 2);
  assert.equal(RateHistory.capacityFor(120, 1), 600, 'a tiny stats interval does not make it unbounded');
});

test('the stats leave the dashboards out: their connections, their tail as a subscriber, their deliveries', async () => {
  const hub = await hubWithStats();
  const dashboard = new StatsSink();
  await hub.subscribe({ selectors: [STATS_TOPIC, '*'], principal: admin, sink: dashboard });
  const reader = new StatsSink();
  await hub.subscribe({
    selectors: ['/books/{id}'],
    principal: { ...ANONYMOUS, subject: 'reader' },
    sink: reader,
  });
  const t0 = Date.now();
  await hub.publish([{ topics: ['/books/1'], data: 'x', private: false }], publisher);
  await hub.publish([{ topics: ['/lonely'], data: 'y', private: false }], publisher);
  hub.sampleRates(t0 + 1000);
  assert.equal(dashboard.sent.length, 2, 'the dashboard did receive both updates');

  const snap = hub.statsSnapshot(undefined, t0 + 1000);
  assert.equal(snap.connections.total, 1);
  assert.equal(snap.connections.monitors, 1);
  assert.deepEqual(snap.connections.bySubject, { reader: 1 });
  assert.deepEqual(snap.connections.byTransport, { sse: 1, ws: 0 });
  const row = (topic: string) => snap.topics.find((r) => r.topic === topic);
  assert.equal(row('/books/1')?.subscribers, 1, 'only the reader');
  assert.equal(row('/lonely')?.subscribers, 0, 'the dashboard tail is not a subscriber');
  assert.equal(row('*'), undefined, 'a selector only dashboards use is not listed');
  assert.equal(row('/books/{id}')?.subscribers, 1);
  assert.equal(snap.totals.delivered, 1, 'deliveries to the dashboard are left out');
  assert.equal(snap.totals.published, 2);
  assert.ok(snap.rates.deliveredPerSec > 0 && snap.rates.deliveredPerSec < snap.rates.publishedPerSec);

  // Someone else subscribing to `*` is traffic again.
  await hub.subscribe({
    selectors: ['*'],
    principal: { ...ANONYMOUS, subject: 'app' },
    sink: new StatsSink(),
  });
  const again = hub.statsSnapshot();
  assert.equal(again.topics.find((r) => r.topic === '*')?.subscribers, 1);
  assert.equal(again.topics.find((r) => r.topic === '/lonely')?.subscribers, 1);
  await hub.close();
});

test('a WebSocket subscription that adds the stats topic later becomes a monitor and is greeted', async () => {
  const hub = await hubWithStats();
  const sink = new StatsSink();
  const sub = await hub.subscribe({ selectors: ['/a'], principal: admin, sink });
  assert.equal(hub.statsSnapshot().connections.total, 1);
  await hub.addSelectors(sub, [STATS_TOPIC]);
  assert.equal(sink.stats.length, 1);
  assert.ok(Array.isArray(sink.stats[0]!.history));
  assert.equal(hub.statsSnapshot().connections.monitors, 1);
  hub.removeSelectors(sub, [STATS_TOPIC]);
  assert.equal(hub.statsSnapshot().connections.total, 1, 'no longer a monitor');
  await hub.close();
});
