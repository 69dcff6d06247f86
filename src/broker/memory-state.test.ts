import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatePatch } from '../protocol/state.ts';
import { MemoryStateStore } from './memory-state.ts';
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
