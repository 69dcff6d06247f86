import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeStats } from './node-view.ts';
import type { HubStatsSnapshot } from './stats.ts';

const snap = (over: Partial<HubStatsSnapshot>): HubStatsSnapshot => ({
  time: 1,
  broker: { kind: 'cluster', ready: true },
  connections: { total: 0, byTransport: { sse: 0, ws: 0 }, bySubject: {}, monitors: 0 },
  totals: { published: 0, delivered: 0 },
  rates: { publishedPerSec: 0, deliveredPerSec: 0, windowSeconds: 5 },
  topics: [],
  refusals: {},
  ...over,
});

test('node stats: connections, totals, rates and refusals add up; a topic seen by every worker counts its updates once', () => {
  const a = snap({
    connections: { total: 3, byTransport: { sse: 2, ws: 1 }, bySubject: { alice: 2 }, monitors: 1 },
    totals: { published: 10, delivered: 30 },
    rates: { publishedPerSec: 2, deliveredPerSec: 6, windowSeconds: 5 },
    topics: [
      { topic: '/t', pattern: false, subscribers: 3, updates: 12, updatesPerSec: 2.4, retained: { n: 1 } },
    ],
    refusals: { HERALD_ERR_TOO_MANY: 1 },
  });
  const b = snap({
    connections: { total: 2, byTransport: { sse: 2, ws: 0 }, bySubject: { alice: 1, bob: 1 }, monitors: 0 },
    totals: { published: 2, delivered: 24 },
    rates: { publishedPerSec: 0.4, deliveredPerSec: 4.8, windowSeconds: 5 },
    topics: [
      { topic: '/t', pattern: false, subscribers: 2, updates: 12, updatesPerSec: 2.4, retained: null },
      { topic: '/{x}', pattern: true, subscribers: 1, updates: 0, updatesPerSec: 0, retained: null },
    ],
    refusals: { HERALD_ERR_TOO_MANY: 2, other: 1 },
  });
  const node = mergeStats(a, [b]);
  assert.deepEqual(node.connections, {
    total: 5,
    byTransport: { sse: 4, ws: 1 },
    bySubject: { alice: 3, bob: 1 },
    monitors: 1,
  });
  assert.deepEqual(node.totals, { published: 12, delivered: 54 });
  assert.equal(node.rates.publishedPerSec, 2.4);
  assert.equal(node.rates.deliveredPerSec, 10.8);
  assert.deepEqual(node.refusals, { HERALD_ERR_TOO_MANY: 3, other: 1 });
  assert.deepEqual(node.topics, [
    { topic: '/t', pattern: false, subscribers: 5, updates: 12, updatesPerSec: 2.4, retained: { n: 1 } },
    { topic: '/{x}', pattern: true, subscribers: 1, updates: 0, updatesPerSec: 0, retained: null },
  ]);
  assert.equal(node.processes, 2);
  // The inputs are not changed (the local snapshot may be reused).
  assert.equal(a.topics[0]!.subscribers, 3);
  assert.equal(mergeStats(a, []), a);
});
