import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseStatePatch, retainedValue } from '../protocol/state.ts';
import { MemoryStateStore } from './memory-state.ts';
import type { StateEntry } from './state-store.ts';
import { stateStoreContract } from './state-store.contract.ts';

stateStoreContract('memory', async (limits) => new MemoryStateStore(limits ? { limits } : {}));

test('memory: the rate is the sum over the sliding window divided by its length', async () => {
  let now = 1_000_000_000;
  const s = new MemoryStateStore({ now: () => now });
  const inc = (n: number) =>
    s.apply('/r', parseStatePatch({ $rate: { m: 10 }, $inc: { m: n } }), { private: false });
  const rate = async (n: number) => ((await inc(n)).state as { $rates: { m: number } }).$rates.m;
  assert.equal(await rate(10), 10); // first second: divided by 1
  now += 1000;
  assert.equal(await rate(10), 10); // 20 over 2 s
  now += 8000;
  assert.equal(await rate(0), 2); // 20 over 10 s
  now += 1000;
  assert.equal(await rate(0), 1); // the first second left the window
  now += 60_000;
  assert.equal(await rate(0), 0); // everything left the window
});

test('memory: 100 000 remembered idempotency keys pin no state data, and a retry still gets the first answer', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const KEYS = 100_000;
  const s = new MemoryStateStore({ idempotencyWindowMs: 60_000 });
  const pad = 'x'.repeat(1000);
  // Every change a distinct 1 KB state on one topic: only the last is held (about 1 KB), so
  // whatever else the heap keeps is the idempotency record of 100 000 keys.
  const state = (i: number) => `{"i":${i},"pad":"${pad}"}`;
  const before = heap();
  let first: StateEntry | undefined;
  let last: StateEntry | undefined;
  for (let i = 0; i < KEYS; i++) {
    const entry = await s.apply('/big', retainedValue(state(i)), { private: false, idempotencyKey: `k${i}` });
    if (i === 0) first = { ...entry };
    last = entry;
  }
  first = { topic: first!.topic, version: first!.version, private: first!.private, state: null };
  const grown = heap() - before;
  t.diagnostic(`100 000 keys: heap +${(grown / 1048576).toFixed(1)} MiB`);
  assert.equal(s.rememberedKeys, KEYS);
  assert.ok(s.heldBytes < 2_000, `held ${s.heldBytes}`);
  // Whole entries would pin 100 000 × (1 KB of text + its parsed object): over 100 MiB.
  assert.ok(grown < 40 * 1024 * 1024, `100 000 keys grew the heap by ${(grown / 1048576).toFixed(1)} MiB`);

  // The last change, retried: the same answer (same version, same text), nothing applied.
  const retry = await s.apply('/big', retainedValue('{"other":true}'), {
    private: false,
    idempotencyKey: `k${KEYS - 1}`,
  });
  assert.equal(retry.version, last!.version);
  assert.equal(retry.json, last!.json);
  assert.deepEqual(retry.state, JSON.parse(state(KEYS - 1)));
  assert.deepEqual((await s.get('/big'))?.state, JSON.parse(state(KEYS - 1)), 'the retry applied nothing');
  // The first change, retried after later ones replaced it: nothing applied, and the answer
  // is the topic's current state, never the older one.
  const late = await s.apply('/big', retainedValue('{"other":true}'), {
    private: false,
    idempotencyKey: 'k0',
  });
  assert.ok(late.version > first.version);
  assert.deepEqual(late.state, JSON.parse(state(KEYS - 1)));
  // A retried $inc counts once (this key makes 100 001: the oldest, k0, is forgotten).
  const inc = parseStatePatch({ $inc: { n: 1 } });
  const once = await s.apply('/count', inc, { private: false, idempotencyKey: 'inc' });
  const again = await s.apply('/count', inc, { private: false, idempotencyKey: 'inc' });
  assert.deepEqual([again.version, again.state], [once.version, { n: 1 }]);
  assert.equal(s.rememberedKeys, KEYS, 'bounded at 100 000 keys');
});
