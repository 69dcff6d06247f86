import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Update } from '../protocol/update.ts';
import { brokerContract } from './broker-contract.ts';
import { MemoryBroker } from './memory.ts';

const input = (data: string, id?: string) => ({ topics: ['t'], data, private: false, ...(id ? { id } : {}) });

describe('MemoryBroker', () => {
  test('publish assigns positions in one hub-wide order and hands each update to the handler once', async () => {
    const b = new MemoryBroker({ historySize: 10, historyTtlMs: 0 });
    const seen: Update[] = [];
    await b.start((u) => seen.push(u));
    const out = await b.publish([input('a'), input('b', 'given')]);
    assert.deepEqual(
      out.map((u) => u.position),
      ['1', '2'],
    );
    assert.equal(out[1]!.id, 'given');
    assert.match(out[0]!.id, /^urn:uuid:/);
    assert.deepEqual(
      seen.map((u) => u.data),
      ['a', 'b'],
    );
  });

  test('history is bounded by count: the oldest are evicted and their ids become unknown', async () => {
    const b = new MemoryBroker({ historySize: 3, historyTtlMs: 0 });
    await b.start(() => {});
    await b.publish(['1', '2', '3', '4', '5'].map((d) => input(d, `id${d}`)));
    assert.deepEqual(
      (await b.historyAfter('earliest', 100)).updates.map((u) => u.data),
      ['3', '4', '5'],
    );
    assert.deepEqual(await b.historyAfter('id1', 100), { found: false, updates: [] });
    assert.deepEqual(
      (await b.historyAfter('id3', 100)).updates.map((u) => u.data),
      ['4', '5'],
    );
    assert.deepEqual(
      (await b.historyAfter('id3', 1)).updates.map((u) => u.data),
      ['4'],
      'limit applies',
    );
  });

  test('history is bounded by age: entries older than the TTL are dropped', async () => {
    let now = 1_000;
    const b = new MemoryBroker({ historySize: 10, historyTtlMs: 500, now: () => now });
    await b.start(() => {});
    await b.publish([input('old', 'old')]);
    now = 1_400;
    await b.publish([input('new', 'new')]);
    now = 1_600;
    assert.deepEqual(
      (await b.historyAfter('earliest', 10)).updates.map((u) => u.id),
      ['new'],
    );
    assert.equal((await b.historyAfter('old', 10)).found, false);
  });

  test('a reused id resolves to its earliest retained occurrence', async () => {
    const b = new MemoryBroker({ historySize: 10, historyTtlMs: 0 });
    await b.start(() => {});
    await b.publish([input('a', 'dup'), input('b'), input('c', 'dup')]);
    assert.deepEqual(
      (await b.historyAfter('dup', 10)).updates.map((u) => u.data),
      ['b', 'c'],
    );
  });

  test('history size 0 keeps nothing; earliest then replays nothing', async () => {
    const b = new MemoryBroker({ historySize: 0, historyTtlMs: 0 });
    await b.start(() => {});
    await b.publish([input('a', 'x')]);
    assert.deepEqual(await b.historyAfter('earliest', 10), { found: true, updates: [] });
    assert.equal((await b.historyAfter('x', 10)).found, false);
  });
});

brokerContract('MemoryBroker', async (options) => new MemoryBroker(options));

test('a mirror keeps consecutive updates as history and starts over after a jump', async () => {
  const copy = new MemoryBroker({ historySize: 10, historyTtlMs: 0 });
  const at = (seq: number): Update => ({
    topics: ['https://example.com/t'],
    data: `u${seq}`,
    private: false,
    id: `id-${seq}`,
    position: String(seq),
    publishedAt: Date.now(),
  });
  for (const seq of [5, 6, 7]) copy.mirror(at(seq));
  assert.deepEqual(
    (await copy.historyAfter('id-5', 10)).updates.map((u) => u.data),
    ['u6', 'u7'],
  );
  // 8 never arrived: what is kept must not pretend 7 and 9 are neighbours.
  copy.mirror(at(9));
  assert.equal((await copy.historyAfter('id-5', 10)).found, false);
  copy.mirror(at(10));
  assert.deepEqual(
    (await copy.historyAfter('id-9', 10)).updates.map((u) => u.data),
    ['u10'],
  );
});
