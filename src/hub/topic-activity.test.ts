import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CounterRing, RateWindow } from './rate-window.ts';
import { TopicActivity } from './topic-activity.ts';

/** Publishes `perTick[i]` updates during second i, sampling once a second (t in ms from 0). */
function run(perTick: number[], size = 5) {
  const window = new RateWindow(size, 0);
  const ring = new CounterRing(window);
  let count = 0;
  const rates: number[] = [];
  perTick.forEach((n, i) => {
    count += n;
    const now = (i + 1) * 1000;
    window.sample(now);
    ring.store(window, count);
    rates.push(ring.rate(window, count, now));
  });
  return rates;
}

describe('RateWindow', () => {
  test('a rate that 1 s ticks see as 2, 3, 2, 3... reads between 2.3 and 2.7 once a 5 s window fills', () => {
    const ticks = [2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3];
    assert.deepEqual(run(ticks, 1).slice(1, 5), [3, 2, 3, 2], 'a one-sample window zig-zags');
    for (const r of run(ticks).slice(5)) assert.ok(r >= 2.3 && r <= 2.7, `windowed rate ${r}`);
  });

  test('before the window fills, the rate covers the time since start, not a shorter stretch', () => {
    const rates = run([4, 4]);
    assert.deepEqual(rates, [4, 4]);
  });

  test('a burst leaves the window after its length and the rate falls back to 0', () => {
    const rates = run([10, 0, 0, 0, 0, 0, 0]);
    assert.equal(rates[0], 10);
    assert.equal(rates[4], 2, 'five seconds after start the burst is spread over 5 s');
    assert.equal(rates[5], 0, 'then it has left the window');
  });

  test('a counter created mid-window counts from 0, not from a stale slot', () => {
    const window = new RateWindow(3, 0);
    for (let i = 1; i <= 10; i++) window.sample(i * 1000);
    const late = new CounterRing(window);
    assert.equal(late.rate(window, 6, 10_000), 2, '6 updates over the 3 s window');
  });

  test('refuses a window of no samples', () => {
    assert.throws(() => new RateWindow(0), RangeError);
    assert.throws(() => new RateWindow(1.5), RangeError);
  });
});

describe('TopicActivity', () => {
  test('lists topics most recent first with their counts and windowed rates', () => {
    const window = new RateWindow(5, 0);
    const activity = new TopicActivity(window, 10);
    for (let s = 1; s <= 5; s++) {
      activity.record('/old');
      activity.record('/busy');
      activity.record('/busy');
      window.sample(s * 1000);
      activity.sampled();
    }
    activity.record('/new');
    const rows = activity.top(5000);
    assert.deepEqual(
      rows.map((r) => r.topic),
      ['/new', '/busy', '/old'],
    );
    assert.equal(rows[1]!.updates, 10);
    assert.equal(rows[1]!.updatesPerSec, 2);
    assert.equal(rows[2]!.updatesPerSec, 1);
    assert.equal(rows[0]!.updatesPerSec, 0.2);
  });

  test('a flood of one-off topics keeps at most twice the limit and lists the most recent', () => {
    const window = new RateWindow(5, 0);
    const activity = new TopicActivity(window, 50);
    for (let i = 0; i < 10_000; i++) {
      activity.record(`/job/${i}`);
      if (i % 100 === 99) {
        window.sample(i);
        activity.sampled();
      }
      assert.ok(activity.size <= 100, `size ${activity.size} after ${i + 1} topics`);
    }
    const rows = activity.top(10_000);
    assert.equal(rows.length, 50);
    assert.equal(rows[0]!.topic.startsWith('/job/99'), true, `most recent first, got ${rows[0]!.topic}`);
    assert.ok(!rows.some((r) => r.topic === '/job/0'), 'the oldest topics were pruned');
  });

  test('refuses a limit below 1', () => {
    assert.throws(() => new TopicActivity(new RateWindow(), 0), RangeError);
  });
});
