import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, importPKCS8 } from 'jose';
import { mintToken } from '../src/auth/mint.ts';
import type { RunningHerald } from '../src/start.ts';
import { SseConnection } from './support/sse-client.ts';
import { TEST_KEY, hubUrl, publishForm, startTestHub } from './support/hub-fixture.ts';

const T = 'https://example.com/auth';
const q = `?topic=${encodeURIComponent(T)}`;
const claims = { mercure: { publish: ['*'], subscribe: ['*'] } };

describe('token transport and precedence', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({ anonymous: false });
  });
  after(() => hub.close());

  test('a token is accepted from the Authorization header, the mercureAuthorization cookie and the authorization query parameter', async () => {
    const tok = await mintToken({ secret: TEST_KEY, subscribe: [T] });
    const viaHeader = await SseConnection.open(hubUrl(hub, q), { Authorization: `Bearer ${tok}` });
    const viaCookie = await SseConnection.open(hubUrl(hub, q), {
      Cookie: `other=1; mercureAuthorization=${tok}`,
    });
    const viaQuery = await SseConnection.open(hubUrl(hub, `${q}&authorization=${tok}`));
    for (const c of [viaHeader, viaCookie, viaQuery]) {
      assert.equal(c.status, 200);
      await c.live();
    }
    const pub = await mintToken({ secret: TEST_KEY, publish: [T] });
    await publishForm(
      hub,
      [
        ['topic', T],
        ['data', 'p'],
        ['private', 'on'],
      ],
      pub,
    );
    await Promise.all([viaHeader, viaCookie, viaQuery].map((c) => c.waitForUpdates(1)));
    for (const c of [viaHeader, viaCookie, viaQuery]) c.close();
  });

  test('the header wins: a bad header is refused even when the cookie is good', async () => {
    const tok = await mintToken({ secret: TEST_KEY, subscribe: [T] });
    const c = await SseConnection.open(hubUrl(hub, q), {
      Authorization: 'Bearer nope',
      Cookie: `mercureAuthorization=${tok}`,
    });
    assert.equal(c.status, 401);
  });

  test('alg "none", a wrong key, an expired token and a non-Bearer header are each refused with 401 and a reason', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const wrongKey = await mintToken({ secret: 'some-other-secret-123', subscribe: ['*'] });
    const expired = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(TEST_KEY));
    const badClaim = await new SignJWT({ mercure: { subscribe: 'not-an-array' } })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(TEST_KEY));
    const expect: [Record<string, string>, RegExp][] = [
      [{ Authorization: `Bearer ${none}` }, /algorithm not allowed|malformed|rejected/],
      [{ Authorization: `Bearer ${wrongKey}` }, /signature is invalid/],
      [{ Authorization: `Bearer ${expired}` }, /token expired/],
      [{ Authorization: `Bearer ${badClaim}` }, /mercure.subscribe must be an array of strings/],
      [{ Authorization: `Basic dXNlcjpwYXNz` }, /must be "Bearer <token>"/],
    ];
    for (const [headers, reason] of expect) {
      const res = await fetch(hubUrl(hub, q), { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.match(await res.text(), reason);
    }
  });

  test('a cookie-authenticated publish without an allowed Origin is refused (CSRF)', async () => {
    const pub = await mintToken({ secret: TEST_KEY, publish: ['*'] });
    const res = await fetch(hubUrl(hub), {
      method: 'POST',
      headers: {
        Cookie: `mercureAuthorization=${pub}`,
        Origin: 'https://evil.example',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: `topic=${encodeURIComponent(T)}&data=x`,
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /allowed Origin/);
  });
});

describe('the stream closes when the token expires', () => {
  test('a subscriber gets a herald.token-expired event, then the stream ends', async () => {
    const hub = await startTestHub();
    try {
      const tok = await mintToken({ secret: TEST_KEY, subscribe: ['*'], ttl: '3s' });
      const c = await SseConnection.open(hubUrl(hub, q), { Authorization: `Bearer ${tok}` });
      assert.equal(c.status, 200);
      await c.waitForEnd(8000);
      assert.equal(c.events.at(-1)!.event, 'herald.token-expired');
    } finally {
      await hub.close();
    }
  });
});

describe('asymmetric keys and separate publisher/subscriber keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const pair = (type: 'rsa' | 'ec' | 'ed25519') => {
    const kp =
      type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
          : generateKeyPairSync('ed25519');
    const pubFile = join(dir, `${type}.pub.pem`);
    writeFileSync(pubFile, kp.publicKey.export({ type: 'spki', format: 'pem' }));
    return { pubFile, privatePem: kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  };
  const sign = async (privatePem: string, alg: string, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader({ alg }).sign(await importPKCS8(privatePem, alg));

  for (const [type, alg] of [
    ['rsa', 'RS256'],
    ['ec', 'ES256'],
    ['ed25519', 'EdDSA'],
  ] as const) {
    test(`${alg} tokens verify against a PEM public key file; HS tokens do not`, async () => {
      const { pubFile, privatePem } = pair(type);
      const hub = await startTestHub({ jwtKey: undefined, jwtKeyFile: pubFile });
      try {
        const good = await sign(privatePem, alg, claims);
        const c = await SseConnection.open(hubUrl(hub, q), { Authorization: `Bearer ${good}` });
        assert.equal(c.status, 200);
        c.close();
        const pubRes = await publishForm(
          hub,
          [
            ['topic', T],
            ['data', 'x'],
          ],
          good,
        );
        assert.equal(pubRes.status, 200);
        const hs = await mintToken({ secret: TEST_KEY, subscribe: ['*'] });
        const bad = await fetch(hubUrl(hub, q), { headers: { Authorization: `Bearer ${hs}` } });
        assert.equal(bad.status, 401);
        assert.match(await bad.text(), /algorithm not allowed/);
      } finally {
        await hub.close();
      }
    });
  }

  test('publisher and subscriber keys are separate when configured so', async () => {
    const hub = await startTestHub({
      jwtKey: undefined,
      publisherJwtKey: 'publisher-secret-1',
      subscriberJwtKey: 'subscriber-secret-1',
    });
    try {
      const pubTok = await mintToken({ secret: 'publisher-secret-1', publish: ['*'], subscribe: ['*'] });
      const subTok = await mintToken({ secret: 'subscriber-secret-1', publish: ['*'], subscribe: ['*'] });
      assert.equal(
        (
          await publishForm(
            hub,
            [
              ['topic', T],
              ['data', 'x'],
            ],
            pubTok,
          )
        ).status,
        200,
      );
      assert.equal(
        (
          await publishForm(
            hub,
            [
              ['topic', T],
              ['data', 'x'],
            ],
            subTok,
          )
        ).status,
        401,
      );
      assert.equal(
        (await fetch(hubUrl(hub, q), { headers: { Authorization: `Bearer ${pubTok}` } })).status,
        401,
      );
      const ok = await SseConnection.open(hubUrl(hub, q), { Authorization: `Bearer ${subTok}` });
      assert.equal(ok.status, 200);
      ok.close();
    } finally {
      await hub.close();
    }
  });
});

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
