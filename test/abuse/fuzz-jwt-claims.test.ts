import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { JwtAuthorizer } from '../../src/auth/jwt-authorizer.ts';
import { secretKey } from '../../src/auth/keys.ts';
import { isHeraldError } from '../../src/protocol/errors.ts';

const KEY = 'fuzz-jwt-claims-key-0123456789abcdef';
const now = Math.floor(Date.now() / 1000);

/** Selector lists as a token may carry them: strings of any kind, or anything at all. */
const selectors = fc.oneof(
  fc.array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('*', '{x}', 'https://ex.com/{+rest}', 'https://ex.com/{', '{?a,b}', '{/a*}'),
    ),
    { maxLength: 8 },
  ),
  fc.jsonValue(),
);

const claims = fc.record(
  {
    mercure: fc.oneof(
      fc.record({ publish: selectors, subscribe: selectors, payload: fc.jsonValue() }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    herald: fc.oneof(fc.record({ admin: fc.jsonValue() }), fc.jsonValue()),
    sub: fc.jsonValue(),
    exp: fc.oneof(fc.integer({ min: now + 60, max: now + 10_000_000 }), fc.jsonValue()),
    nbf: fc.oneof(fc.constant(now - 10), fc.jsonValue()),
    iat: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('fuzzing JWT claim shapes', () => {
  test('any signed claim set gives a principal or a 401 HeraldError with a one-line reason', async () => {
    const auth = new JwtAuthorizer({
      publisherKey: secretKey(KEY),
      subscriberKey: secretKey(KEY),
      anonymous: false,
    });
    const secret = new TextEncoder().encode(KEY);
    await fc.assert(
      fc.asyncProperty(
        claims,
        fc.constantFrom('subscriber', 'publisher') as fc.Arbitrary<'subscriber' | 'publisher'>,
        async (payload, role) => {
          const token = await new SignJWT(payload as Record<string, unknown>)
            .setProtectedHeader({ alg: 'HS256' })
            .sign(secret);
          try {
            const p = await auth.authenticate(token, role);
            assert.equal(p.anonymous, false);
            assert.ok(p.subject === undefined || typeof p.subject === 'string');
            assert.ok(p.expiresAt === undefined || Number.isFinite(p.expiresAt));
            // Whatever the claims held, using them must not throw either.
            p.subscribe?.matchesAny(['https://ex.com/a', 'x']);
            p.publish?.matchesAll(['https://ex.com/a']);
          } catch (e) {
            assert.ok(isHeraldError(e), `not a HeraldError: ${String(e)}`);
            assert.equal(e.status, 401);
            assert.ok(!/[\r\n]/.test(e.message), `reason on several lines: ${JSON.stringify(e.message)}`);
          }
        },
      ),
      // An exp near Number.MAX_VALUE once overflowed to an infinite expiry (found by this property).
      { numRuns: 400, examples: [[{ exp: 1.797693134862316e305 }, 'subscriber']] },
    );
  });
});
