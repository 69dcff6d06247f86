import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateId } from './ids.ts';

const UUID7 = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('an id is a urn:uuid UUIDv7 whose first 48 bits are the time in ms', () => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0, 123);
  const id = generateId(now);
  assert.match(id, UUID7);
  const hex = id.slice(9, 17) + id.slice(18, 22);
  assert.equal(parseInt(hex, 16), now);
});

test('ids sort by time across milliseconds, whatever their random bits', () => {
  const ids = [0, 1, 15, 16, 4095, 4096, 1e12, 2 ** 47].map((t) => generateId(t));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(generateId(0).slice(9, 22), '00000000-0000');
  assert.equal(generateId(-5).slice(9, 22), '00000000-0000', 'a clock before 1970 reads as 0');
  for (const bad of [NaN, Infinity, -Infinity]) assert.match(generateId(bad), UUID7);
});

test('ids made in the same millisecond are distinct, also across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = generateId(1_700_000_000_000);
    assert.match(id, UUID7);
    seen.add(id);
  }
  assert.equal(seen.size, 5000);
});

test('the random part uses every hex digit in every random position', () => {
  const digits = Array.from({ length: 45 }, () => new Set<string>());
  for (let i = 0; i < 2000; i++) [...generateId(1)].forEach((c, j) => digits[j]!.add(c));
  for (const j of [24, 25, 26, 29, 30, 31, 33, 40, 44]) assert.equal(digits[j]!.size, 16, `position ${j}`);
  assert.deepEqual([...digits[28]!].sort(), ['8', '9', 'a', 'b']);
});
