import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { ErrorCode, isHeraldError } from '../protocol/errors.ts';
import { JwtAuthorizer } from './jwt-authorizer.ts';
import { secretKey } from './keys.ts';

const SECRET = 'jwt-authorizer-test-secret-0123456789';
const OTHER = 'another-secret-entirely-9876543210abc';

async function sign(secret: string, exp?: number): Promise<string> {
  const jwt = new SignJWT({ mercure: { publish: ['*'], subscribe: ['*'] } }).setProtectedHeader({
    alg: 'HS256',
  });
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(secret));
}

function rejectsWith(code: ErrorCode) {
  return (e: unknown) => isHeraldError(e) && e.code === code;
}

test('a remembered token stops being accepted the moment it expires', async () => {
  let now = 1_000_000_000_000;
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: secretKey(SECRET),
    anonymous: false,
    now: () => now,
  });
  const token = await sign(SECRET, now / 1000 + 60);
  const first = await auth.authenticate(token, 'publisher');
  assert.equal(
    await auth.authenticate(token, 'publisher'),
    first,
    'the second call is served from the cache',
  );
  now += 59_999;
  await auth.authenticate(token, 'publisher');
  now += 1;
  await assert.rejects(auth.authenticate(token, 'publisher'), rejectsWith(ErrorCode.tokenExpired));
  // Evicted on expiry, and still refused by the full check.
  await assert.rejects(auth.authenticate(token, 'publisher'), rejectsWith(ErrorCode.tokenExpired));
});

test('a token accepted for one role is still checked against the other role key', async () => {
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: secretKey(OTHER),
    anonymous: false,
  });
  const token = await sign(SECRET);
  await auth.authenticate(token, 'publisher');
  await assert.rejects(auth.authenticate(token, 'subscriber'), rejectsWith(ErrorCode.unauthorized));
});

test('a bad signature is refused every time, never remembered', async () => {
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: undefined,
    anonymous: false,
  });
  const forged = await sign(OTHER);
  for (let i = 0; i < 2; i++)
    await assert.rejects(auth.authenticate(forged, 'publisher'), rejectsWith(ErrorCode.unauthorized));
});

test('the cache holds at most cacheSize tokens: the oldest is verified again', async () => {
  let now = 1_000_000_000_000;
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: undefined,
    anonymous: false,
    cacheSize: 2,
    now: () => now,
  });
  const a = await sign(SECRET, now / 1000 + 10);
  const b = await sign(SECRET, now / 1000 + 20);
  const c = await sign(SECRET, now / 1000 + 30);
  const pa = await auth.authenticate(a, 'publisher');
  const pb = await auth.authenticate(b, 'publisher');
  await auth.authenticate(c, 'publisher');
  assert.equal(await auth.authenticate(b, 'publisher'), pb);
  assert.notEqual(await auth.authenticate(a, 'publisher'), pa, 'a was evicted and verified afresh');
  now += 10_000;
  await assert.rejects(auth.authenticate(a, 'publisher'), rejectsWith(ErrorCode.tokenExpired));
});

async function signFor(
  publish: string[],
  claims: { nbf?: number; exp?: number; pad?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({
    mercure: { publish },
    ...(claims.pad ? { pad: claims.pad } : {}),
  }).setProtectedHeader({
    alg: 'HS256',
  });
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

test('a flood of distinct valid tokens keeps the cache within its entries and bytes', async () => {
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: undefined,
    anonymous: false,
    cacheSize: 50,
    cacheBytes: 64 * 1024,
  });
  let largest = 0;
  for (let i = 0; i < 400; i++) {
    await auth.authenticate(
      await signFor([`https://example.com/${i}`], { pad: 'p'.repeat(i % 7 === 0 ? 3000 : 10) }),
      'publisher',
    );
    largest = Math.max(largest, auth.cachedBytes);
  }
  assert.ok(largest <= 64 * 1024, `${largest} bytes cached`);
  // A token over a sixteenth of the budget is verified every time, never remembered.
  const before = auth.cachedBytes;
  await auth.authenticate(await signFor(['*'], { pad: 'x'.repeat(8 * 1024) }), 'publisher');
  assert.equal(auth.cachedBytes, before);
});

test('a remembered token for topic A never lets its bearer publish to topic B', async () => {
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: undefined,
    anonymous: false,
  });
  const onlyA = await signFor(['https://example.com/a']);
  for (let i = 0; i < 3; i++) {
    const p = await auth.authenticate(onlyA, 'publisher');
    assert.equal(p.publish?.matchesTopic('https://example.com/a'), true);
    assert.equal(p.publish?.matchesTopic('https://example.com/b'), false);
  }
});

test('a token used before its nbf is refused, never remembered, and accepted once the time comes', async () => {
  let now = 1_000_000_000_000;
  const auth = new JwtAuthorizer({
    publisherKey: secretKey(SECRET),
    subscriberKey: undefined,
    anonymous: false,
    now: () => now,
  });
  const early = await signFor(['*'], { nbf: now / 1000 + 60, exp: now / 1000 + 120 });
  for (let i = 0; i < 2; i++)
    await assert.rejects(auth.authenticate(early, 'publisher'), rejectsWith(ErrorCode.unauthorized));
  assert.equal(auth.cachedBytes, 0);
  now += 60_000;
  const p = await auth.authenticate(early, 'publisher');
  assert.equal(p.publish?.matchesTopic('https://example.com/x'), true);
  now += 60_000;
  await assert.rejects(auth.authenticate(early, 'publisher'), rejectsWith(ErrorCode.tokenExpired));
});
