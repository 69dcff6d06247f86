import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { ConnectionAdmission, PublishRateLimiter, unlimitedConnections } from './limits.ts';

const ticket = (ip: string, subject: string | undefined, selectors: string[] = ['a']) => ({
  ip,
  subject,
  selectors,
});

function refusedWith(fn: () => void, pattern: RegExp): HeraldError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof HeraldError, 'expected a HeraldError');
  assert.match(caught.message, pattern);
  return caught;
}

describe('connection admission', () => {
  test('a global cap refuses the next connection with 429 and Retry-After, and a release frees a slot', () => {
    const a = new ConnectionAdmission({ ...unlimitedConnections, maxConnections: 2, retryAfterSeconds: 7 });
    const t1 = ticket('1.1.1.1', 'u1');
    a.admit(t1);
    a.admit(ticket('2.2.2.2', 'u2'));
    const e = refusedWith(() => a.admit(ticket('3.3.3.3', 'u3')), /connection limit \(2\)/);
    assert.equal(e.code, ErrorCode.tooManyConnections);
    assert.equal(e.status, 429);
    assert.equal(e.retryAfter, 7);
    a.release(t1);
    a.admit(ticket('3.3.3.3', 'u3'));
    assert.equal(a.total, 2);
  });

  test('a seated ticket (a WebSocket subscribing on its seat) counts against the subject and selector caps only', () => {
    const a = new ConnectionAdmission({
      ...unlimitedConnections,
      maxConnections: 1,
      maxPerIp: 1,
      maxPerSubject: 1,
      maxPerSelector: 1,
    });
    const seat = ticket('1.1.1.1', undefined, []);
    a.admit(seat);
    const sub = { ...ticket('1.1.1.1', 'u1', ['a']), seated: true };
    a.admit(sub);
    assert.equal(a.total, 1, 'the subscription is not counted twice');
    refusedWith(() => a.admit({ ...ticket('1.1.1.1', 'u1', ['b']), seated: true }), /this subject/);
    refusedWith(() => a.admit({ ...ticket('1.1.1.1', 'u2', ['a']), seated: true }), /selector "a"/);
    a.release(sub);
    assert.equal(a.total, 1, 'the seat stays until the socket closes');
    a.release(seat);
    assert.equal(a.total, 0);
    assert.equal(a.trackedKeys, 0);
  });

  test('a per-IP cap counts each address separately', () => {
    const a = new ConnectionAdmission({ ...unlimitedConnections, maxPerIp: 1 });
    a.admit(ticket('1.1.1.1', undefined));
    a.admit(ticket('2.2.2.2', undefined));
    refusedWith(() => a.admit(ticket('1.1.1.1', undefined)), /this address/);
  });

  test('a per-subject cap ignores subject-less connections', () => {
    const a = new ConnectionAdmission({ ...unlimitedConnections, maxPerSubject: 1 });
    a.admit(ticket('1.1.1.1', 'alice'));
    refusedWith(() => a.admit(ticket('2.2.2.2', 'alice')), /this subject/);
    a.admit(ticket('1.1.1.1', undefined));
    a.admit(ticket('1.1.1.1', undefined));
    a.admit(ticket('1.1.1.1', 'bob'));
  });

  test('a per-selector cap names the selector that is full', () => {
    const a = new ConnectionAdmission({ ...unlimitedConnections, maxPerSelector: 1 });
    a.admit(ticket('1.1.1.1', undefined, ['x', 'y']));
    refusedWith(() => a.admit(ticket('1.1.1.1', undefined, ['z', 'y'])), /selector "y"/);
    // A refused admission reserved nothing: z is still free.
    a.admit(ticket('1.1.1.1', undefined, ['z']));
  });

  test('releasing every connection leaves no keys behind', () => {
    const a = new ConnectionAdmission({ ...unlimitedConnections, maxPerIp: 10 });
    const ts = Array.from({ length: 50 }, (_, i) => ticket(`10.0.0.${i % 7}`, `s${i}`, [`t${i}`, '*']));
    for (const t of ts) a.admit(t);
    assert.ok(a.trackedKeys > 0);
    for (const t of ts) a.release(t);
    assert.equal(a.total, 0);
    assert.equal(a.trackedKeys, 0);
  });
});

describe('publish rate limiter', () => {
  test('a publisher may send its burst at once, then is refused until the bucket refills', () => {
    let now = 0;
    const r = new PublishRateLimiter({ ratePerSecond: 10, burst: 5, now: () => now });
    for (let i = 0; i < 5; i++) r.take('p', 1);
    const e = refusedWith(() => r.take('p', 1), /10 updates\/s \(burst 5\)/);
    assert.equal(e.code, ErrorCode.rateLimited);
    assert.equal(e.status, 429);
    assert.equal(e.retryAfter, 1);
    now += 100; // one token back
    r.take('p', 1);
    refusedWith(() => r.take('p', 1), /rate limit/);
    // Another publisher has its own bucket.
    r.take('q', 5);
  });

  test('a batch costs one token per update and a batch above the burst leaves the bucket in debt', () => {
    let now = 0;
    const r = new PublishRateLimiter({ ratePerSecond: 10, burst: 10, now: () => now });
    r.take('p', 30);
    refusedWith(() => r.take('p', 1), /rate limit/);
    now += 2000; // 20 tokens: still 0 after the 30-token debt
    const e = refusedWith(() => r.take('p', 1), /retry in 1s/);
    assert.equal(e.retryAfter, 1);
    now += 1000;
    r.take('p', 10);
  });

  test('Retry-After says how long until enough tokens are back', () => {
    const now = 0;
    const r = new PublishRateLimiter({ ratePerSecond: 1, burst: 5, now: () => now });
    r.take('p', 5);
    assert.equal(refusedWith(() => r.take('p', 5), /rate/).retryAfter, 5);
  });

  test('a rate of 0 disables the limit', () => {
    const r = new PublishRateLimiter({ ratePerSecond: 0, burst: 0 });
    for (let i = 0; i < 10_000; i++) r.take('p', 100);
    assert.equal(r.trackedKeys, 0);
  });

  test('the number of tracked publishers stays bounded', () => {
    let now = 0;
    const r = new PublishRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 100, now: () => now });
    for (let i = 0; i < 1000; i++) {
      r.take(`p${i}`, 1);
      now += 1;
    }
    assert.ok(r.trackedKeys <= 100, `tracked ${r.trackedKeys}`);
  });
});
