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

  test('the id index stays within twice the history however many updates pass through', async () => {
    const b = new MemoryBroker({ historySize: 50, historyTtlMs: 0 });
    await b.start(() => {});
    for (let i = 0; i < 40; i++) await b.publish(Array.from({ length: 25 }, (_, j) => input(`${i}.${j}`)));
    assert.ok(b.indexedIds <= 100, `${b.indexedIds} ids indexed`);
    // Every retained update is still found by its id, the evicted ones are not.
    const all = (await b.historyAfter('earliest', 100)).updates;
    assert.equal(all.length, 50);
    assert.deepEqual((await b.historyAfter(all[0]!.id, 100)).updates, all.slice(1));
    assert.deepEqual((await b.historyAfter(all[48]!.id, 100)).updates, [all[49]]);
  });

  test('an id whose first occurrence left the history resolves to its next publish', async () => {
    const b = new MemoryBroker({ historySize: 3, historyTtlMs: 0 });
    await b.start(() => {});
    await b.publish([input('a', 'again'), input('b'), input('c'), input('d')]);
    assert.equal((await b.historyAfter('again', 10)).found, false);
    // Published again after its first occurrence was evicted: the new one is the reference.
    await b.publish([input('e', 'again'), input('f')]);
    assert.deepEqual(
      (await b.historyAfter('again', 10)).updates.map((u) => u.data),
      ['f'],
    );
    // Ids indexed in an older generation are found too, and a stale one reads as unknown.
    await b.publish([input('g', 'x'), input('h', 'y'), input('i', 'z'), input('j', 'w')]);
    assert.equal((await b.historyAfter('again', 10)).found, false);
    assert.deepEqual(
      (await b.historyAfter('y', 10)).updates.map((u) => u.data),
      ['i', 'j'],
    );
  });

  test('a publisher reusing an id the hub generated resolves to the first update with it', async () => {
    const b = new MemoryBroker({ historySize: 10, historyTtlMs: 0 });
    await b.start(() => {});
    const [first] = await b.publish([input('a')]);
    await b.publish([input('b'), input('c', first!.id)]);
    assert.deepEqual(
      (await b.historyAfter(first!.id, 10)).updates.map((u) => u.data),
      ['b', 'c'],
    );
  });

  test('a stored update carries the input fields but not its idempotency key', async () => {
    const b = new MemoryBroker({ historySize: 3, historyTtlMs: 0, idempotencyWindowMs: 60_000 });
    await b.start(() => {});
    const [u] = await b.publish([
      {
        topics: ['t', 'u'],
        data: 'x',
        private: true,
        type: 'k',
        retry: 5,
        stateVersion: 3,
        idempotencyKey: 'key',
      },
    ]);
    assert.deepEqual(Object.keys(u!).sort(), [
      'data',
      'id',
      'position',
      'private',
      'publishedAt',
      'retry',
      'stateVersion',
      'topics',
      'type',
    ]);
    const [again] = await b.publish([
      { topics: ['t', 'u'], data: 'x', private: true, idempotencyKey: 'key' },
    ]);
    assert.equal(again!.duplicate, true);
    assert.equal(again!.id, u!.id);
    assert.equal('idempotencyKey' in again!, false);
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
