import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { parseStatePatch, retainedValue } from '../protocol/state.ts';
import type { StateLimits, StateStore } from './state-store.ts';

const pub = { private: false };
const patch = (p: unknown) => parseStatePatch(p);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof HeraldError && e.code === code);
}

/**
 * The behaviour every StateStore shares; run against the memory and the Redis store.
 * `make` returns a fresh, empty store.
 */
export function stateStoreContract(name: string, make: (limits?: StateLimits) => Promise<StateStore>): void {
  test(`${name}: retain replaces the state and get returns it`, async () => {
    const s = await make();
    const a = await s.apply('/t', retainedValue('{"a":[],"b":{},"n":1234567890123456,"x":0.1}'), pub);
    assert.deepEqual(a.state, { a: [], b: {}, n: 1234567890123456, x: 0.1 });
    const b = await s.apply('/t', retainedValue('"just text"'), { private: true });
    assert.equal(b.state, 'just text');
    assert.ok(b.version > a.version);
    const got = await s.get('/t');
    assert.deepEqual(
      got && { topic: got.topic, state: got.state, version: got.version, private: got.private },
      { topic: '/t', state: 'just text', version: b.version, private: true },
    );
    assert.equal((await s.apply('/t', retainedValue('not json'), pub)).state, 'not json');
    await s.close();
  });

  test(`${name}: merge patch follows RFC 7386 including nulls, arrays and nested objects`, async () => {
    const s = await make();
    await s.apply('/t', retainedValue('{"a":"b","c":{"d":"e","f":"g"},"keep":[1,2]}'), pub);
    const r = await s.apply('/t', patch({ a: 'z', c: { f: null, n: { deep: true } }, keep: [3] }), pub);
    assert.deepEqual(r.state, { a: 'z', c: { d: 'e', n: { deep: true } }, keep: [3] });
    const r2 = await s.apply('/t', patch({ c: { d: null, n: null } }), pub);
    assert.deepEqual(r2.state, { a: 'z', c: {}, keep: [3] });
    const r3 = await s.apply('/t', patch({ a: { now: 'object' }, c: 5 }), pub);
    assert.deepEqual(r3.state, { a: { now: 'object' }, c: 5, keep: [3] });
    await s.apply('/s', retainedValue('42'), pub);
    assert.deepEqual((await s.apply('/s', patch({ x: 1 }), pub)).state, { x: 1 });
    assert.deepEqual((await s.apply('/new', patch({ m: { n: null } }), pub)).state, { m: {} });
    assert.deepEqual(
      (await s.apply('/p', patch({ ['__proto__']: { x: 1 } }), pub)).state,
      JSON.parse('{"__proto__":{"x":1}}'),
    );
    await s.close();
  });

  test(`${name}: $inc adds to numbers, creates missing ones and applies after the merge`, async () => {
    const s = await make();
    await s.apply('/c', patch({ $inc: { indexed: 1, by: { host: 2 } } }), pub);
    await s.apply(
      '/c',
      patch({ status: 'running', $inc: { indexed: 4, errors: 0, by: { host: 0.5 } } }),
      pub,
    );
    const r = await s.apply('/c', patch({ indexed: 100, $inc: { indexed: 1 } }), pub);
    assert.deepEqual(r.state, { indexed: 101, errors: 0, by: { host: 2.5 }, status: 'running' });
    await s.close();
  });

  test(`${name}: a rejected increment changes nothing`, async () => {
    const s = await make();
    const before = await s.apply('/c', retainedValue('{"n":1,"label":"x","obj":{"k":1},"empty":{}}'), pub);
    await rejectsWith(s.apply('/c', patch({ n: 2, $inc: { n: 1, label: 1 } }), pub), ErrorCode.badPatch);
    await rejectsWith(s.apply('/c', patch({ $inc: { obj: 1 } }), pub), ErrorCode.badPatch);
    await rejectsWith(s.apply('/c', patch({ $inc: { empty: 1 } }), pub), ErrorCode.badPatch);
    await rejectsWith(s.apply('/c', patch({ $inc: { label: { deeper: 1 } } }), pub), ErrorCode.badPatch);
    await rejectsWith(
      s
        .apply('/c', patch({ $inc: { n: Number.MAX_VALUE } }), pub)
        .then(() => s.apply('/c', patch({ $inc: { n: Number.MAX_VALUE } }), pub)),
      ErrorCode.badPatch,
    );
    const after = await s.get('/c');
    assert.deepEqual(after?.state, { ...(before.state as object), n: Number.MAX_VALUE + 1 });
    await s.close();
  });

  test(`${name}: a null patch forgets the state; versions keep growing`, async () => {
    const s = await make();
    const a = await s.apply('/gone', patch({ a: 1 }), pub);
    const b = await s.apply('/gone', patch(null), pub);
    assert.equal(b.state, null);
    assert.ok(b.version > a.version);
    assert.equal(await s.get('/gone'), undefined);
    assert.deepEqual(await s.list(10), []);
    const c = await s.apply('/gone', patch({ a: 2 }), pub);
    assert.ok(c.version > b.version);
    assert.deepEqual(c.state, { a: 2 });
    await s.close();
  });

  test(`${name}: a patch never makes a private state public; a replacement sets the visibility`, async () => {
    const s = await make();
    const priv = { private: true };
    await s.apply('/v', retainedValue('{"secret":"s3"}'), priv);
    const patched = await s.apply('/v', patch({ $inc: { n: 1 } }), pub);
    assert.equal(patched.private, true, 'a public patch of a private state is private');
    assert.equal((await s.get('/v'))?.private, true);
    assert.equal((await s.list(10)).find((e) => e.topic === '/v')?.private, true);
    const removed = await s.apply('/v', patch(null), pub);
    assert.equal(removed.private, true, 'removing a private state is private');
    await s.apply('/w', retainedValue('{"a":1}'), pub);
    assert.equal((await s.apply('/w', patch({ b: 2 }), priv)).private, true, 'a private patch raises it');
    assert.equal((await s.apply('/w', patch({ c: 3 }), pub)).private, true, 'and it stays raised');
    const replaced = await s.apply('/w', retainedValue('{"fresh":true}'), pub);
    assert.equal(replaced.private, false, 'a full replacement may lower it');
    assert.deepEqual((await s.get('/w'))?.state, { fresh: true });
    await s.close();
  });

  test(`${name}: making a private state public by replacement forgets its rate windows`, async () => {
    const s = await make();
    await s.apply('/rw', patch({ $rate: { m: 60 }, $inc: { m: 1000 } }), { private: true });
    await s.apply('/rw', retainedValue('{}'), pub);
    const after = await s.apply('/rw', patch({ $inc: { m: 1 } }), pub);
    assert.deepEqual(after.state, { m: 1 }, 'no rate derived from the private counts');
    await s.close();
  });

  test(`${name}: list returns every retained topic up to the limit`, async () => {
    const s = await make();
    for (let i = 0; i < 5; i++) await s.apply(`/l/${i}`, patch({ i }), pub);
    const all = await s.list(100);
    assert.deepEqual(all.map((e) => e.topic).sort(), ['/l/0', '/l/1', '/l/2', '/l/3', '/l/4']);
    assert.deepEqual(all.find((e) => e.topic === '/l/3')?.state, { i: 3 });
    assert.equal((await s.list(2)).length, 2);
    await s.close();
  });

  test(`${name}: limits on state size and topic count are refused with their codes`, async () => {
    const s = await make({ maxTopics: 2, maxStateBytes: 200 });
    await s.apply('/1', patch({ a: 1 }), pub);
    await s.apply('/2', patch({ a: 1 }), pub);
    await rejectsWith(s.apply('/3', patch({ a: 1 }), pub), ErrorCode.tooManyStates);
    await s.apply('/2', patch({ a: 2 }), pub);
    await rejectsWith(s.apply('/1', patch({ big: 'x'.repeat(500) }), pub), ErrorCode.stateTooLarge);
    assert.deepEqual((await s.get('/1'))?.state, { a: 1 });
    await s.apply('/1', patch(null), pub);
    await s.apply('/3', patch({ a: 1 }), pub);
    await s.close();
  });

  test(`${name}: a rate window derives events per second from increments`, async () => {
    const s = await make();
    const r1 = await s.apply('/r', patch({ $rate: { messages: 10 }, $inc: { messages: 50 } }), pub);
    const st = r1.state as { messages: number; $rates: { messages: number } };
    assert.equal(st.messages, 50);
    // Within the first second(s) of the window the divisor is the elapsed seconds (1 or 2).
    assert.ok(st.$rates.messages === 50 || st.$rates.messages === 25, `rate ${st.$rates.messages}`);
    const r2 = await s.apply('/r', patch({ $inc: { messages: 50 } }), pub);
    const st2 = r2.state as { messages: number; $rates: { messages: number } };
    assert.equal(st2.messages, 100);
    assert.ok(st2.$rates.messages >= 100 / 3 && st2.$rates.messages <= 100, `rate ${st2.$rates.messages}`);
    await assert.rejects(
      Promise.resolve().then(() => patch({ $rates: { x: 1 } })),
      (e: unknown) => e instanceof HeraldError && e.code === ErrorCode.badPatch,
    );
    await s.close();
  });
}
