import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { constants, type ClientHttp2Session, type ServerHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../src/config/load.ts';
import type { RunningHerald } from '../src/start.ts';
import { H2Sse, h2Connect, h2Request } from './support/h2-client.ts';
import { publisherToken, startTestHub, subscriberToken } from './support/hub-fixture.ts';
import { testCert } from './support/tls.ts';
import { WsProbe } from './support/ws-probe.ts';

const PATH = '/.well-known/mercure';
const cert = testCert();
after(() => cert.remove());

function startTlsHub(config: Parameters<typeof startTestHub>[0] = {}): Promise<RunningHerald> {
  return startTestHub({ tlsCert: cert.certFile, tlsKey: cert.keyFile, ...config });
}

function publish(
  session: ClientHttp2Session,
  token: string,
  fields: [string, string][],
): Promise<{ status: number; body: string }> {
  return h2Request(
    session,
    {
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Bearer ${token}`,
    },
    new URLSearchParams(fields).toString(),
  );
}

const topic = (n: string): string => `https://example.com/h2/${n}`;
const subPath = (t: string, extra = ''): string => `${PATH}?topic=${encodeURIComponent(t)}${extra}`;

describe('HTTPS with HTTP/2', () => {
  let h: RunningHerald;
  let session: ClientHttp2Session;
  let sub: string;
  let pub: string;
  const serverSessions: ServerHttp2Session[] = [];

  const dashboardDir = mkdtempSync(join(tmpdir(), 'herald-h2-dash-'));

  before(async () => {
    writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>dash</title>');
    h = await startTlsHub({ dashboardDir });
    h.server.on('session', (s: ServerHttp2Session) => serverSessions.push(s));
    session = await h2Connect(h.url, cert.ca);
    sub = await subscriberToken();
    pub = await publisherToken();
  });

  after(async () => {
    session?.destroy();
    await h?.close();
    rmSync(dashboardDir, { recursive: true, force: true });
  });

  test('the hub says https and negotiates h2 by ALPN', () => {
    assert.match(h.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(session.alpnProtocol, 'h2');
  });

  test('an HTTP/2 client subscribes, publishes and resumes, all on one connection', async () => {
    const t = topic('resume');
    const auth = { authorization: `Bearer ${sub}` };
    const first = await H2Sse.open(session, subPath(t), auth);
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(typeof first.headers['x-request-id'], 'string');
    // The first comment says the subscription is live.
    await first.waitFor(() => first.body.startsWith(':'), 'first comment');

    const ids: string[] = [];
    for (const data of ['one', 'two']) {
      const r = await publish(session, pub, [
        ['topic', t],
        ['data', data],
      ]);
      assert.equal(r.status, 200, r.body);
      ids.push(r.body);
    }
    await first.waitFor(() => first.updates.length === 2, 'two live updates');
    assert.deepEqual(
      first.updates.map((e) => [e.id, e.data]),
      [
        [ids[0], 'one'],
        [ids[1], 'two'],
      ],
    );
    // No HTTP/1.1 chunk framing leaks into an HTTP/2 body.
    assert.doesNotMatch(first.body, /^[0-9a-f]+\r\n/m);

    first.close();
    await first.waitFor(() => first.ended, 'stream closed');
    await waitUntil(() => [...h.hub.subscriptions()].length === 0, 'hub saw the stream go');
    for (const data of ['three', 'four']) {
      const r = await publish(session, pub, [
        ['topic', t],
        ['data', data],
      ]);
      ids.push(r.body);
    }
    const resumed = await H2Sse.open(session, subPath(t), { ...auth, 'last-event-id': ids[1]! });
    assert.equal(resumed.status, 200);
    assert.equal(resumed.headers['last-event-id'], ids[1]);
    const live = await publish(session, pub, [
      ['topic', t],
      ['data', 'five'],
    ]);
    ids.push(live.body);
    await resumed.waitFor(() => resumed.updates.length === 3, 'missed two then live one');
    assert.deepEqual(
      resumed.updates.map((e) => e.data),
      ['three', 'four', 'five'],
    );
    assert.deepEqual(
      resumed.updates.map((e) => e.id),
      ids.slice(2),
    );
    resumed.close();
    assert.equal(serverSessions.length, 1, 'every request above shared one connection');
  });

  test('health, readiness, metrics and the dashboard answer over HTTP/2', async () => {
    const get = (path: string) => h2Request(session, { ':path': path });
    assert.deepEqual([(await get('/healthz')).status, (await get('/readyz')).status], [200, 200]);
    const stream = await H2Sse.open(session, subPath(topic('metrics')), {
      authorization: `Bearer ${sub}`,
    });
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /herald_connections_active\{transport="sse"\} 1/);
    stream.close();
    const dash = await get('/dashboard/');
    assert.equal(dash.status, 200);
    assert.match(dash.body, /<title>dash<\/title>/);
    const missing = await get('/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-herald-error'], 'HERALD_ERR_NOT_FOUND');
  });

  test('bad input over HTTP/2 gets the same status, code and one-line reason as over HTTP/1.1', async () => {
    const noToken = await H2Sse.open(session, subPath(topic('x')));
    await noToken.waitFor(() => noToken.ended, 'refusal body');
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers['x-herald-error'], 'HERALD_ERR_UNAUTHORIZED');
    assert.match(noToken.body, /^[^\n]+\n$/);

    const badSelector = await h2Request(session, {
      ':path': `${PATH}?topic=${encodeURIComponent('https://example.com/{unclosed')}`,
      authorization: `Bearer ${sub}`,
    });
    assert.equal(badSelector.status, 400);

    const big = await publish(session, pub, [
      ['topic', topic('big')],
      ['data', 'x'.repeat(1024 * 1024 + 1)],
    ]);
    assert.equal(big.status, 413);

    const forbidden = await publish(session, await publisherToken(['https://other.example/{x}']), [
      ['topic', topic('nope')],
      ['data', 'x'],
    ]);
    assert.equal(forbidden.status, 403);
  });

  test('streams reset with an error code and sessions that send garbage leave the hub serving', async () => {
    const t = topic('reset');
    const auth = { authorization: `Bearer ${sub}` };
    const doomed = await H2Sse.open(session, subPath(t), auth);
    await doomed.waitFor(() => doomed.body.startsWith(':'), 'open');
    doomed.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    await doomed.waitFor(() => doomed.ended, 'reset');
    // A raw TLS client that speaks h2 by ALPN, then sends bytes that are not HTTP/2 frames.
    const raw = tlsConnect({ host: '127.0.0.1', port: h.port, ca: cert.ca, ALPNProtocols: ['h2'] });
    raw.on('error', () => {});
    raw.resume();
    await new Promise<void>((resolve) => raw.once('secureConnect', () => resolve()));
    raw.write(`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${'garbage '.repeat(8)}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('hub kept a broken session open')), 5000);
      raw.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const next = await H2Sse.open(session, subPath(t), auth);
    const r = await publish(session, pub, [
      ['topic', t],
      ['data', 'still here'],
    ]);
    assert.equal(r.status, 200);
    await next.waitFor(() => next.updates.length === 1, 'update after the resets');
    next.close();
  });

  test('HTTP/1.1 clients and WebSocket upgrades share the TLS port', async () => {
    const t = topic('http1');
    const sse = await new Promise<{
      alpn: string | false | null;
      chunked: boolean;
      status: number;
      read: () => Promise<string>;
    }>((resolve, reject) => {
      const req = httpsRequest(
        `${h.url}${subPath(t)}`,
        {
          // What a browser offers for a WebSocket or an HTTP/1.1-only fetch.
          agent: new HttpsAgent({ ca: cert.ca, ALPNProtocols: ['http/1.1'] }),
          headers: { authorization: `Bearer ${sub}` },
        },
        (res) => {
          let text = '';
          const waiters: (() => void)[] = [];
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
            waiters.splice(0).forEach((w) => w());
          });
          resolve({
            chunked: res.headers['transfer-encoding'] === 'chunked',
            alpn: (res.socket as import('node:tls').TLSSocket).alpnProtocol,
            status: res.statusCode ?? 0,
            read: () =>
              new Promise<string>((done) => {
                const check = (): void => {
                  if (text.includes('data: over both')) done(text);
                  else waiters.push(check);
                };
                check();
              }),
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(sse.status, 200);
    assert.equal(sse.alpn, 'http/1.1');
    assert.equal(sse.chunked, true);

    const ws = new WsProbe(`${h.url.replace('https', 'wss')}${PATH}/ws?authorization=${sub}`, {
      ca: cert.ca,
    });
    await ws.opened;
    ws.ws.send(JSON.stringify({ op: 'subscribe', topics: [t] }));
    await ws.next((m) => m['op'] === 'subscribed');
    const r = await publish(session, pub, [
      ['topic', t],
      ['data', 'over both'],
    ]);
    assert.equal(r.status, 200);
    assert.match(await sse.read(), /id: [^\n]+\ndata: over both\n\n/);
    const frame = await ws.next((m) => m['data'] === 'over both');
    assert.equal(frame['id'], r.body);
    ws.ws.close();

    const wrongPath = new WsProbe(`${h.url.replace('https', 'wss')}/nowhere/ws`, { ca: cert.ca });
    await assert.rejects(wrongPath.opened, (e: { status?: number }) => e.status === 404);
  });
});

describe('HTTPS with HTTP/2: limits and lifecycle', () => {
  test('the connection cap counts HTTP/2 streams: the second stream gets 429 with Retry-After', async () => {
    const h = await startTlsHub({ maxConnections: 1 });
    const session = await h2Connect(h.url, cert.ca);
    try {
      const auth = { authorization: `Bearer ${await subscriberToken()}` };
      const first = await H2Sse.open(session, subPath(topic('cap')), auth);
      assert.equal(first.status, 200);
      const second = await H2Sse.open(session, subPath(topic('cap')), auth);
      assert.equal(second.status, 429);
      assert.ok(second.headers['retry-after']);
      await first.waitFor(() => first.body.startsWith(':'), 'first stream still live');
    } finally {
      session.destroy();
      await h.close();
    }
  });

  test('a stalled HTTP/2 reader is cut by the slow-consumer policy while its sibling stream keeps up', async () => {
    const h = await startTlsHub({ maxBuffered: 64 * 1024 });
    const session = await h2Connect(h.url, cert.ca);
    // A large connection window, so the stalled stream's unread bytes cannot starve its sibling.
    session.setLocalWindowSize(32 * 1024 * 1024);
    try {
      const t = topic('slow');
      const auth = { authorization: `Bearer ${await subscriberToken()}` };
      const stalled = await H2Sse.open(session, subPath(t), auth);
      const reader = await H2Sse.open(session, subPath(t), auth);
      await stalled.waitFor(() => stalled.body.startsWith(':'), 'stalled stream opened');
      stalled.stream.pause();
      const pub = await publisherToken();
      const data = 'y'.repeat(16 * 1024);
      let sent = 0;
      // Bounded: the stream's window is 64 KiB and the budget 64 KiB, so ~10 updates overflow it.
      while ([...h.hub.subscriptions()].length === 2 && sent < 100) {
        const r = await publish(session, pub, [
          ['topic', t],
          ['data', data],
        ]);
        assert.equal(r.status, 200);
        sent++;
      }
      assert.equal([...h.hub.subscriptions()].length, 1, 'the stalled subscriber was dropped');
      await reader.waitFor(() => reader.updates.length === sent, 'the sibling got every update');
      const metrics = await h2Request(session, { ':path': '/metrics' });
      assert.match(metrics.body, /herald_slow_consumer_actions_total\{[^}]*\} 1/);
    } finally {
      session.destroy();
      await h.close();
    }
  });

  test('a graceful stop tells HTTP/2 and WebSocket subscribers to come back, then ends their streams', async () => {
    const h = await startTlsHub();
    const session = await h2Connect(h.url, cert.ca);
    session.on('error', () => {});
    const stream = await H2Sse.open(session, subPath(topic('stop')), {
      authorization: `Bearer ${await subscriberToken()}`,
    });
    await stream.waitFor(() => stream.body.startsWith(':'), 'open');
    const ws = new WsProbe(`${h.url.replace('https', 'wss')}${PATH}/ws`, { ca: cert.ca });
    await ws.opened;
    const started = Date.now();
    await h.close();
    assert.ok(Date.now() - started < 2500, 'stopped without waiting for the grace period');
    await stream.waitFor(() => stream.ended, 'stream ended');
    assert.equal(stream.events.at(-1)?.event, 'herald.shutdown');
    assert.match(stream.body, /retry: \d+/);
    assert.equal((await ws.closed).code, 1001, 'the WebSocket got its closing handshake, not a cut');
    session.destroy();
  });

  test('--tls-cert without --tls-key, or an unreadable file, is a config error at startup', async () => {
    await assert.rejects(
      startTestHub({ tlsCert: cert.certFile }),
      (e: unknown) => e instanceof ConfigError && /--tls-cert and --tls-key/.test(e.message),
    );
    await assert.rejects(
      startTestHub({ tlsCert: cert.certFile, tlsKey: join(tmpdir(), 'herald-no-such-key.pem') }),
      (e: unknown) => e instanceof ConfigError && /--tls-key: cannot read .*ENOENT/.test(e.message),
    );
    const badPemDir = mkdtempSync(join(tmpdir(), 'herald-badpem-'));
    const notPem = join(badPemDir, 'key.pem');
    writeFileSync(notPem, 'not a key');
    try {
      await assert.rejects(
        startTestHub({ tlsCert: cert.certFile, tlsKey: notPem }),
        (e: unknown) => e instanceof ConfigError && /--tls-cert\/--tls-key/.test(e.message),
      );
    } finally {
      rmSync(badPemDir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  // Bounded poll on hub state (the hub has no event for this in a test without an observer).
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
