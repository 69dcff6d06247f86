import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '../../src/auth/mint.ts';
import { JwtAuthorizer } from '../../src/auth/jwt-authorizer.ts';
import { secretKey } from '../../src/auth/keys.ts';
import { HEAD_TIMEOUT_MS } from '../../src/http/server.ts';
import type { RunningHerald } from '../../src/start.ts';
import { hubUrl, publishForm, publisherToken, startTestHub, TEST_KEY } from '../support/hub-fixture.ts';
import { SseConnection } from '../support/sse-client.ts';

const T = 'https://example.com/edges';

describe('small edges of the HTTP server', () => {
  let hub: RunningHerald;
  before(async () => {
    hub = await startTestHub({ anonymous: true });
  });
  after(() => hub.close());

  test('a half-sent request head is cut at the timeout docs/production.md states', async () => {
    const docs = readFileSync(new URL('../../docs/production.md', import.meta.url), 'utf8');
    const stated = /\| request head must arrive within\s*\|\s*(\d+) s\s*\|/.exec(docs);
    assert.ok(stated, 'docs/production.md states the head timeout');
    assert.equal(Number(stated[1]) * 1000, HEAD_TIMEOUT_MS);
    const socket = connect(hub.port, '127.0.0.1');
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: h\r\nX-Slow: ');
    let text = '';
    socket.setEncoding('latin1').on('data', (d: string) => (text += d));
    const cut = await new Promise<number>((resolve, reject) => {
      const bound = setTimeout(() => reject(new Error('the head was not cut within 13 s')), 13_000);
      socket.once('close', () => {
        clearTimeout(bound);
        resolve(Date.now() - started);
      });
    });
    assert.ok(cut >= HEAD_TIMEOUT_MS - 200, `cut after ${cut} ms`);
    assert.ok(cut <= HEAD_TIMEOUT_MS + 2000, `cut after ${cut} ms`);
    assert.match(text, /^HTTP\/1\.1 408/);
  });

  test('a request pipelined after an SSE GET on the same connection is never executed', async () => {
    const watcher = await SseConnection.open(hubUrl(hub, `?topic=${encodeURIComponent(T)}`));
    await watcher.live();
    const pub = await publisherToken();
    const body = `topic=${encodeURIComponent(T)}&data=pipelined`;
    const socket = connect(hub.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    const streaming = new Promise<void>((resolve) =>
      socket.on('data', (d: string) => {
        text += d;
        if (text.includes('\r\n\r\n')) resolve();
      }),
    );
    socket.write(
      `GET /.well-known/mercure?topic=${encodeURIComponent('https://example.com/other')} HTTP/1.1\r\nHost: h\r\n\r\n` +
        `POST /.well-known/mercure HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${pub}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await streaming;
    assert.match(text, /^HTTP\/1\.1 200/);
    const before = hub.hub.counters.published;
    const marker = await publishForm(
      hub,
      [
        ['topic', T],
        ['data', 'marker'],
      ],
      pub,
    );
    assert.equal(marker.status, 200);
    await watcher.waitForUpdates(1);
    assert.deepEqual(
      watcher.updates.map((u) => u.data),
      ['marker'],
    );
    assert.equal(hub.hub.counters.published, before + 1, 'only the marker was published');
    socket.destroy();
    watcher.close();
  });
});

describe('the verified-token cache', () => {
  test('is bounded by bytes as well as by count', async () => {
    const budget = 2 * 1024 * 1024;
    const auth = new JwtAuthorizer({
      publisherKey: secretKey(TEST_KEY),
      subscriberKey: secretKey(TEST_KEY),
      anonymous: false,
      cacheSize: 4096,
      cacheBytes: budget,
    });
    // 64 tokens of ~27 KB each: far under the count, well over the byte budget.
    for (let i = 0; i < 64; i++) {
      const token = await mintToken({
        secret: TEST_KEY,
        subscribe: [T],
        payload: { pad: `${i}`.padEnd(20_000, 'x') },
      });
      await auth.authenticate(token, 'subscriber');
      assert.ok(auth.cachedBytes <= budget, `${auth.cachedBytes} bytes cached after ${i + 1} tokens`);
    }
    assert.ok(auth.cachedBytes > budget / 2, 'the cache is still used');
    // A token larger than a sixteenth of the budget is verified but never cached.
    const huge = await mintToken({ secret: TEST_KEY, subscribe: [T], payload: { pad: 'y'.repeat(100_000) } });
    const before = auth.cachedBytes;
    await auth.authenticate(huge, 'subscriber');
    assert.equal(auth.cachedBytes, before);
  });
});
