import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCount, formatRate, splitTopic } from './format.ts';
import {
  WINDOW_SECONDS,
  appendSample,
  emptySeries,
  parseStats,
  sortedCounts,
  withHistory,
  type Stats,
} from './stats.ts';

const sample = (time: number, published = 1, delivered = 2): Stats => {
  const stats = parseStats(
    JSON.stringify({ time, rates: { publishedPerSec: published, deliveredPerSec: delivered } }),
  );
  assert.ok(stats);
  return stats;
};

test('a full stats payload parses field by field', () => {
  const stats = parseStats(
    JSON.stringify({
      time: 1000,
      broker: { kind: 'redis', ready: true },
      connections: { total: 3, byTransport: { sse: 2, ws: 1 }, bySubject: { alice: 2, '(anonymous)': 1 } },
      totals: { published: 10, delivered: 30 },
      rates: { publishedPerSec: 1.5, deliveredPerSec: 4.5, windowSeconds: 5 },
      topics: [
        { topic: '/a', pattern: false, subscribers: 2, updates: 7, updatesPerSec: 1.4, retained: { n: 1 } },
        { topic: '/b/{id}', pattern: true, subscribers: 1, retained: null },
      ],
      refusals: { HERALD_ERR_UNAUTHORIZED: 4 },
    }),
  );
  assert.deepEqual(stats?.broker, { kind: 'redis', ready: true });
  assert.equal(stats?.connections.byTransport.ws, 1);
  assert.deepEqual(stats?.topics[0], {
    topic: '/a',
    pattern: false,
    subscribers: 2,
    updates: 7,
    updatesPerSec: 1.4,
    retained: { n: 1 },
  });
  assert.equal(stats?.topics[1]?.pattern, true);
  assert.equal(stats?.topics[1]?.updates, 0, 'a row without counts reads 0');
  assert.equal(stats?.rates.windowSeconds, 5);
  assert.equal(stats?.refusals.HERALD_ERR_UNAUTHORIZED, 4);
});

test('a partial or odd payload degrades to zeros instead of throwing', () => {
  const stats = parseStats(
    '{"connections":{"total":"many"},"topics":[{"subscribers":1},null],"refusals":[1]}',
  );
  assert.equal(stats?.connections.total, 0);
  assert.deepEqual(stats?.topics, []);
  assert.deepEqual(stats?.refusals, {});
  assert.equal(stats?.broker.ready, false);
  assert.equal(parseStats('not json'), null);
  assert.equal(parseStats('42'), null);
  assert.equal(parseStats([1, 2]), null);
  assert.equal(parseStats(null), null);
  assert.equal(parseStats({})?.rates.windowSeconds, 0, 'an older hub that does not say');
});

test('the SDK hands stats over already parsed; they read the same as the JSON text', () => {
  const payload = { time: 5, totals: { published: 3, delivered: 6 }, topics: [{ topic: '/x' }] };
  assert.deepEqual(parseStats(payload), parseStats(JSON.stringify(payload)));
  assert.equal(parseStats(payload)?.totals.delivered, 6);
});

test('samples older than the window fall off the chart', () => {
  let series = emptySeries();
  for (let s = 1000; s <= 1000 + WINDOW_SECONDS + 10; s += 1) series = appendSample(series, sample(s * 1000));
  assert.equal(series.time[0], 1010);
  assert.equal(series.time.length, WINDOW_SECONDS + 1);
});

test('a silence of more than a few seconds leaves a gap, and replayed samples are ignored', () => {
  let series = appendSample(emptySeries(), sample(1000));
  series = appendSample(series, sample(10_000));
  assert.deepEqual(series.published, [1, null, 1]);
  const same = appendSample(series, sample(5000));
  assert.equal(same, series);
});

test('counts sort by size, then by name, so ties do not shuffle', () => {
  assert.deepEqual(sortedCounts({ b: 1, a: 1, c: 5 }), [
    ['c', 5],
    ['a', 1],
    ['b', 1],
  ]);
});

test('big numbers turn compact so they keep their box', () => {
  assert.equal(formatCount(9_999_999), '9,999,999');
  assert.equal(formatCount(12_345_678), '12.3M');
  assert.equal(formatRate(2), '2.0');
  assert.equal(formatRate(1150.4), '1,150');
});

test('the history sent with the first stats fills the chart, and fills a reconnection gap', () => {
  const first = parseStats(
    JSON.stringify({
      time: 10_000,
      rates: { publishedPerSec: 3, deliveredPerSec: 6 },
      history: [7000, 8000, 9000, 10_000].map((time) => ({ time, publishedPerSec: 2, deliveredPerSec: 4 })),
    }),
  )!;
  const series = withHistory(emptySeries(), first);
  assert.deepEqual(series.time, [7, 8, 9, 10]);
  assert.deepEqual(series.published, [2, 2, 2, 2], 'the sample sent with the history is not drawn twice');
  // A later stream's history covers what the page missed while it was away, no gap drawn.
  const again = parseStats(
    JSON.stringify({
      time: 14_000,
      rates: { publishedPerSec: 1, deliveredPerSec: 1 },
      history: [11_000, 12_000, 13_000].map((time) => ({ time, publishedPerSec: 1, deliveredPerSec: 1 })),
    }),
  )!;
  const resumed = withHistory(series, again);
  assert.deepEqual(resumed.time, [7, 8, 9, 10, 11, 12, 13, 14]);
  assert.ok(!resumed.published.includes(null));
  assert.deepEqual(parseStats('{"history":"nope"}')?.history, []);
});

test('a long topic is split so its distinguishing end always shows', () => {
  assert.deepEqual(splitTopic('/short'), { head: '', tail: '/short' });
  assert.deepEqual(splitTopic('https://example.com/catalogue/books/12'), {
    head: 'https://example.com/catalogue',
    tail: '/books/12',
  });
  const id = 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e';
  assert.equal(splitTopic(id).tail, id.slice(-14));
  assert.equal(splitTopic(id).head + splitTopic(id).tail, id);
});
