import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { mintToken } from '../src/auth/mint.ts';
import { localHubArgs, startHubProcess } from './support/hub-process.ts';
import { httpRequest, SseClient } from './support/raw-http.ts';

const KEY = 'logging-test-secret-never-logged-7731';
const PATH = '/.well-known/mercure';

interface LogLine {
  level: number;
  event?: string;
  requestId?: string;
  reason?: string;
  code?: string;
  status?: number;
  subscriber?: string;
  [k: string]: unknown;
}

test('logs are JSON with request ids, one line per connection open/close and per refusal, and never a token', async () => {
  const hub = await startHubProcess([...localHubArgs(KEY), '--log-level', 'trace', '--heartbeat', '0']);
  try {
    const sub = await mintToken({ secret: KEY, subscribe: ['*'], subject: 'reader' });
    const pub = await mintToken({ secret: KEY, publish: ['*'], subject: 'writer' });
    const expired = await new SignJWT({ mercure: { subscribe: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 5)
      .sign(new TextEncoder().encode(KEY));
    const forged = await mintToken({ secret: 'some-other-secret-123', subscribe: ['*'] });
    const secrets = [sub, pub, expired, forged, KEY];

    // A token in each place Mercure allows, for subscribe and publish.
    const viaHeader = new SseClient(`${hub.url}${PATH}?topic=a`, {
      Authorization: `Bearer ${sub}`,
      'X-Request-Id': 'req-header-1',
    });
    const viaQuery = new SseClient(`${hub.url}${PATH}?topic=a&authorization=${sub}`, {
      'X-Request-Id': 'req-query-1',
    });
    const viaCookie = new SseClient(`${hub.url}${PATH}?topic=a`, {
      Cookie: `mercureAuthorization=${sub}`,
      'X-Request-Id': 'bad id with spaces',
    });
    for (const c of [viaHeader, viaQuery, viaCookie]) assert.equal(await c.opened, 200);
    assert.equal(viaHeader.headers['x-request-id'], 'req-header-1');
    assert.match(viaCookie.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/, 'an unsafe id is replaced');

    const published = await httpRequest(`${hub.url}${PATH}?authorization=${pub}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Request-Id': 'req-pub-1' },
      body: 'topic=a&data=hello',
    });
    assert.equal(published.status, 200);
    assert.equal(published.headers['x-request-id'], 'req-pub-1');

    // Refused tokens, in all three places.
    const refusals = [
      httpRequest(`${hub.url}${PATH}?topic=a`, {
        headers: { Authorization: `Bearer ${expired}`, 'X-Request-Id': 'req-expired' },
      }),
      httpRequest(`${hub.url}${PATH}?topic=a&authorization=${forged}`),
      httpRequest(`${hub.url}${PATH}?topic=a`, { headers: { Cookie: `mercureAuthorization=${forged}` } }),
      httpRequest(`${hub.url}${PATH}?authorization=${forged}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'topic=a&data=x',
      }),
    ];
    for (const r of await Promise.all(refusals)) assert.equal(r.status, 401);

    for (const c of [viaHeader, viaQuery, viaCookie]) c.close();
    // Let the hub log the three client-side closes before it is told to stop, or a close can be
    // logged with reason "shutdown" instead.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the three closes were not logged')), 10_000);
      const check = (): void => {
        if (hub.logs.filter((l) => l.includes('"connection.close"')).length >= 3) {
          clearTimeout(timer);
          resolve();
        } else hub.child.stdout!.once('data', () => setImmediate(check));
      };
      check();
    });
    hub.child.kill('SIGTERM');
    assert.equal(await hub.exited, 0);

    const output = hub.logs.join('\n') + hub.stderr;
    for (const s of secrets) {
      assert.equal(output.includes(s), false, 'a token or the key appears in the logs');
      // Not even the signature part on its own.
      const sig = s.split('.')[2];
      if (sig) assert.equal(output.includes(sig), false, 'a token signature appears in the logs');
    }
    assert.doesNotMatch(output, /authorization=ey/i);

    const lines = hub.logs.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);
    const opens = lines.filter((l) => l.event === 'connection.open');
    const closes = lines.filter((l) => l.event === 'connection.close');
    assert.equal(opens.length, 3);
    assert.equal(closes.length, 3);
    const open1 = opens.find((l) => l.requestId === 'req-header-1');
    assert.ok(open1, 'the caller-provided request id is used');
    assert.equal(open1.subject, 'reader');
    const close1 = closes.find((l) => l.subscriber === open1.subscriber);
    assert.ok(close1);
    assert.equal(close1.requestId, 'req-header-1');
    assert.equal(close1.reason, 'client');
    assert.equal(typeof close1.durationMs, 'number');

    const refused = lines.filter((l) => l.event === 'refused');
    assert.equal(refused.length, 4, 'one line per refusal');
    const exp = refused.find((l) => l.requestId === 'req-expired');
    assert.ok(exp);
    assert.equal(exp.code, 'HERALD_ERR_TOKEN_EXPIRED');
    assert.equal(exp.status, 401);
    for (const r of refused) assert.ok(typeof r.requestId === 'string' && r.requestId.length > 0);
  } finally {
    hub.kill();
  }
});

test('--log-level is validated and honoured', async () => {
  const quiet = await startHubProcess([
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'info',
    '--anonymous',
    '--heartbeat',
    '0',
  ]);
  try {
    const c = new SseClient(`${quiet.url}${PATH}?topic=a`);
    await c.opened;
    c.close();
    quiet.child.kill('SIGTERM');
    await quiet.exited;
    const levels = quiet.logs.filter(Boolean).map((l) => (JSON.parse(l) as LogLine).level);
    assert.ok(
      levels.every((l) => l >= 30),
      'nothing below info',
    );
  } finally {
    quiet.kill();
  }
  await assert.rejects(
    startHubProcess(['--port', '0', '--host', '127.0.0.1', '--log-level', 'loud']),
    /not one of fatal, error, warn, info, debug, trace, silent/,
  );
});
