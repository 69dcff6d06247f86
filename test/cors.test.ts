import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../src/auth/mint.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { httpRequest, SseClient } from './support/raw-http.ts';

const KEY = 'cors-test-secret-0123456789';
const PATH = '/.well-known/mercure';
const APP = 'https://app.example';

function preflight(h: RunningHerald, origin: string | undefined) {
  return httpRequest(`${h.url}${PATH}`, {
    method: 'OPTIONS',
    headers: {
      ...(origin !== undefined ? { Origin: origin } : {}),
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, content-type',
    },
  });
}

describe('CORS with an explicit allow-list', () => {
  let h: RunningHerald;
  before(async () => {
    h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      jwtKey: KEY,
      anonymous: true,
      heartbeat: 0,
      logLevel: 'silent',
      corsOrigins: [APP],
    });
  });
  after(() => h.close());

  test('a preflight from a listed origin is answered 204 with credentials, methods and headers', async () => {
    const r = await preflight(h, APP);
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], APP);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.match(r.headers['access-control-allow-methods'] as string, /POST/);
    assert.match(r.headers['access-control-allow-headers'] as string, /Authorization/);
    assert.match(r.headers['access-control-allow-headers'] as string, /Last-Event-ID/);
    assert.equal(r.headers['vary'], 'Origin');
  });

  test('a preflight from an unlisted origin, a look-alike or no origin is refused 403', async () => {
    for (const origin of [
      'https://evil.example',
      'https://app.example.evil',
      'http://app.example',
      `${APP}/`,
      undefined,
    ]) {
      const r = await preflight(h, origin);
      assert.equal(r.status, 403, String(origin));
      assert.equal(r.headers['x-herald-error'], 'HERALD_ERR_FORBIDDEN_ORIGIN');
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
  });

  test('the null origin (sandboxed iframes, file:) is refused', async () => {
    const r = await preflight(h, 'null');
    assert.equal(r.status, 403);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

  test('a subscription from a listed origin carries CORS headers; one from elsewhere carries none', async () => {
    const ok = new SseClient(`${h.url}${PATH}?topic=a`, { Origin: APP });
    assert.equal(await ok.opened, 200);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    assert.match(ok.headers['access-control-expose-headers'] as string, /Last-Event-ID/);
    ok.close();
    const other = new SseClient(`${h.url}${PATH}?topic=a`, { Origin: 'https://evil.example' });
    await other.opened;
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers['access-control-allow-credentials'], undefined);
    // The answer depends on Origin even when it grants nothing: caches must key on it.
    assert.equal(other.headers['vary'], 'Origin');
    other.close();
  });

  test('refusals from a listed origin carry CORS headers, so the browser can read the status and reason', async () => {
    const refused = await httpRequest(`${h.url}${PATH}?topic=a`, {
      headers: { Origin: APP, Authorization: 'Bearer not-a-jwt' },
    });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['access-control-allow-origin'], APP);
    assert.match(refused.headers['access-control-expose-headers'] as string, /X-Herald-Error/);
    const badRequest = await httpRequest(`${h.url}${PATH}`, { headers: { Origin: APP } });
    assert.equal(badRequest.status, 400);
    assert.equal(badRequest.headers['access-control-allow-origin'], APP);
    const elsewhere = await httpRequest(`${h.url}${PATH}`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.headers['access-control-allow-origin'], undefined);
  });

  test('a cookie-authenticated publish needs an allowed Origin (CSRF)', async () => {
    const token = await mintToken({ secret: KEY, publish: ['*'] });
    const post = (origin?: string) =>
      httpRequest(`${h.url}${PATH}`, {
        method: 'POST',
        headers: {
          Cookie: `mercureAuthorization=${token}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          ...(origin ? { Origin: origin } : {}),
        },
        body: 'topic=t&data=x',
      });
    const forged = await post('https://evil.example');
    assert.equal(forged.status, 403);
    assert.equal(forged.headers['x-herald-error'], 'HERALD_ERR_FORBIDDEN_ORIGIN');
    assert.equal((await post()).status, 403);
    assert.equal((await post('null')).status, 403);
    const ok = await post(APP);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
  });
});

describe('CORS with * in the allow-list', () => {
  let h: RunningHerald;
  before(async () => {
    h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      heartbeat: 0,
      logLevel: 'silent',
      anonymous: true,
      corsOrigins: ['*', APP],
    });
  });
  after(() => h.close());

  test('any origin is allowed, but never with credentials', async () => {
    const r = await preflight(h, 'https://anyone.example');
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
    // A listed origin gets another answer (with credentials): the wildcard answer varies too.
    assert.equal(r.headers['vary'], 'Origin');
  });

  test('a listed origin still gets credentials alongside *', async () => {
    const r = await preflight(h, APP);
    assert.equal(r.headers['access-control-allow-origin'], APP);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
  });

  test('the null origin is refused even with *', async () => {
    const r = await preflight(h, 'null');
    assert.equal(r.status, 403);
    const sub = new SseClient(`${h.url}${PATH}?topic=a`, { Origin: 'null' });
    await sub.opened;
    assert.equal(sub.headers['access-control-allow-origin'], undefined);
    sub.close();
  });
});
