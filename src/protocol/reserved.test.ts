import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MEMO_ENTRIES, MEMO_TOPIC_LENGTH, ReservedNamespace } from './reserved.ts';

const ns = (): ReservedNamespace => new ReservedNamespace('https://hub.example/.well-known/mercure');

test('a remembered answer is the same as a fresh one, inside and outside the namespace', () => {
  const r = ns();
  const topics = [
    'https://example.com/a',
    '/.well-known/mercure/subscriptions/x',
    '/.well-known/%6Dercure/x',
    '/x/../.well-known/mercure',
    '/.well-known/herald/stats',
    '/.well-known/mercurex',
  ];
  const fresh = topics.map((t) => ns().contains(t));
  assert.deepEqual(fresh, [false, true, true, true, true, false]);
  for (let round = 0; round < 3; round++)
    assert.deepEqual(
      topics.map((t) => r.contains(t)),
      fresh,
    );
  assert.equal(r.memoSize, topics.length);
});

test('a flood of distinct topics keeps the memo bounded and the answers right', () => {
  const r = ns();
  for (let i = 0; i < 3 * MEMO_ENTRIES; i++) {
    assert.equal(r.contains(`https://example.com/flood/${i}`), false);
    assert.ok(r.memoSize <= MEMO_ENTRIES);
  }
  assert.equal(r.contains('/.well-known/mercure/x'), true);
  assert.equal(r.contains('/.well-known/mercure/x'), true, 'remembered after the flood');
});

test('long topics are answered but never remembered', () => {
  const r = ns();
  const long = `/.well-known/mercure/${'x'.repeat(MEMO_TOPIC_LENGTH)}`;
  assert.equal(r.contains(long), true);
  assert.equal(r.contains(`https://example.com/${'y'.repeat(MEMO_TOPIC_LENGTH)}`), false);
  assert.equal(r.memoSize, 0);
});
