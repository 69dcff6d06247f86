import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.ts';

test('backoff delays grow exponentially, stay under the cap, and are fully jittered', () => {
  const top = { random: () => 0.999999 };
  assert.equal(backoffDelay(0, { ...top, initialMs: 100 }), 99);
  assert.equal(backoffDelay(3, { ...top, initialMs: 100 }), 799);
  assert.equal(backoffDelay(20, { ...top, initialMs: 100, maxMs: 5000 }), 4999);
  assert.equal(backoffDelay(5, { random: () => 0 }), 0);
  assert.equal(backoffDelay(0, top, 2000), 1999, 'a server retry: replaces the base');
});
