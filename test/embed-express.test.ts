import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { startShop } from '../docs/snippets/express-app.ts';
import { mintToken } from '../src/auth/mint.ts';
import { createHub } from '../src/index.ts';
import { SseConnection } from './support/sse-client.ts';
import { WsProbe } from './support/ws-probe.ts';
import { eventually } from './support/wait.ts';

const KEY = 'embed-express-test-key-0123456789';
const HUB = '/hub/.well-known/mercure';

describe('Herald inside an Express app (docs/snippets/express-app.ts)', () => {
  let shop: Awaited<ReturnType<typeof startShop>>;
  let base: string;
  let subToken: string;
  let pubToken: string;

  before(async () => {
    shop = await startShop(0, KEY);
    base = `http://127.0.0.1:${(shop.server.address() as AddressInfo).port}`;
    subToken = await mintToken({ secret: KEY, subscribe: ['*'] });
    pubToken = await mintToken({ secret: KEY, publish: ['https://shop.example/{+rest}'] });
  });
  after(() => shop.close());

  test("an app route's hub.publish reaches an SSE subscriber of the mounted endpoint", async () => {
    const sse = await SseConnection.open(
      `${base}${HUB}?topic=${encodeURIComponent('https://shop.example/orders/{id}')}`,
      {
        Authorization: `Bearer ${subToken}`,
      },
    );
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
    assert.ok(sse.headers['x-request-id'], 'the stream carries a request id');
    await sse.live();
    const res = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 7 }),
    });
    assert.equal(res.status, 200);
    const { updateId } = (await res.json()) as { updateId: string };
    await sse.waitForUpdates(1);
    assert.deepEqual(sse.updates[0], { id: updateId, event: 'message', data: '{"id":"7","status":"paid"}' });
    sse.close();
    await eventually(() => shop.hub.hub.connectionCount === 0, 'the hub to drop the closed subscriber');
  });

  test('HTTP publish, auth and limits work on the mounted endpoint exactly as standalone', async () => {
    const sse = await SseConnection.open(`${base}${HUB}?topic=https://shop.example/news`, {
      Authorization: `Bearer ${subToken}`,
    });
    await sse.live();
    const ok = await fetch(`${base}${HUB}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'topic=https://shop.example/news&data=hello&id=n-1',
    });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'n-1');
    await sse.waitForUpdates(1);
    assert.equal(sse.updates[0]!.data, 'hello');

    const anonymous = await fetch(`${base}${HUB}?topic=x`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('x-herald-error'), 'HERALD_ERR_UNAUTHORIZED');
    const forbidden = await fetch(`${base}${HUB}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'topic=https://elsewhere.example/x&data=no',
    });
    assert.equal(forbidden.status, 403);
    const tooBig = await fetch(`${base}${HUB}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `topic=https://shop.example/news&data=${'x'.repeat(1024 * 1024 + 1)}`,
    });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.headers.get('x-herald-error'), 'HERALD_ERR_BODY_TOO_LARGE');
    const badForm = await fetch(`${base}${HUB}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'topic=%zz&data=x',
    });
    assert.equal(badForm.status, 400);
    assert.equal(sse.updates.length, 1, 'refused publishes delivered nothing');
    sse.close();
  });

  test('health and metrics live under the base path; other paths fall through to the app', async () => {
    assert.equal(await (await fetch(`${base}/hub/healthz`)).text(), 'ok\n');
    assert.equal((await fetch(`${base}/hub/readyz`)).status, 200);
    const metrics = await (await fetch(`${base}/hub/metrics`)).text();
    assert.match(metrics, /^herald_updates_published_total [1-9]/m);
    assert.match(metrics, /^herald_refusals_total\{reason="HERALD_ERR_UNAUTHORIZED"\} [1-9]/m);
    const elsewhere = await fetch(`${base}/hub/nope`);
    assert.equal(elsewhere.status, 404);
    assert.equal(elsewhere.headers.get('x-herald-error'), null, "Express's own 404, not the hub's");
    assert.equal((await fetch(`${base}/healthz`)).headers.get('x-herald-error'), null);
  });

  test('the WebSocket endpoint is served on the same server under the prefix', async () => {
    const ws = new WsProbe(`ws://127.0.0.1:${(shop.server.address() as AddressInfo).port}${HUB}/ws`, {
      headers: { Authorization: `Bearer ${subToken}` },
    });
    await ws.opened;
    ws.send({ op: 'subscribe', topics: ['https://shop.example/orders/9'] });
    await ws.op('subscribed');
    await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 9 }),
    });
    const u = await ws.update();
    assert.deepEqual(u['topics'], ['https://shop.example/orders/9']);
    await ws.close();

    const wrong = new WsProbe(`ws://127.0.0.1:${(shop.server.address() as AddressInfo).port}/nope/ws`);
    await assert.rejects(wrong.opened, (e: { status: number }) => e.status === 404);
  });
});

describe('Herald as a plain (req, res) handler', () => {
  test('a body parser mounted before the hub gets a clear 500, not a hung request', async () => {
    const hub = await createHub({ jwtKey: KEY, logLevel: 'silent' });
    const app = express();
    app.use(express.json());
    app.use(hub.handle);
    const server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/mercure`,
        {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${await mintToken({ secret: KEY, publish: ['*'] })}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ topics: ['https://a.example/x'], data: 'x' }),
        },
      );
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_INTERNAL');
      assert.match(await res.text(), /mount Herald before body parsers/);
    } finally {
      await hub.close();
      server.close();
    }
  });

  test("every answer carries X-Request-Id: the hub's, its streams' and the application's it passes on", async () => {
    const hub = await createHub({ jwtKey: KEY, logLevel: 'silent', anonymous: true });
    const app = express();
    app.use(hub.handle);
    app.get('/app', (_req, res) => void res.send('app'));
    const server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const passed = await fetch(`${base}/app`, { headers: { 'X-Request-Id': 'app-1' } });
      assert.equal(await passed.text(), 'app');
      assert.equal(passed.headers.get('x-request-id'), 'app-1');
      const refused = await fetch(`${base}/.well-known/mercure`, { headers: { 'X-Request-Id': 'hub-1' } });
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.get('x-request-id'), 'hub-1');
      const sse = await SseConnection.open(`${base}/.well-known/mercure?topic=https://a.example/t`, {
        'X-Request-Id': 'sse-1',
      });
      assert.equal(sse.headers['x-request-id'], 'sse-1');
      sse.close();
    } finally {
      await hub.close();
      server.close();
    }
  });

  test('http.createServer(hub.handle) answers 404 for unknown paths and serves the default path', async () => {
    const hub = await createHub({ jwtKey: KEY, logLevel: 'silent', anonymous: true });
    const server = createServer(hub.handle).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/nope`);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_NOT_FOUND');
      const sse = await SseConnection.open(`${base}/.well-known/mercure?topic=https://a.example/t`);
      await sse.live();
      const [u] = await hub.publish([{ topics: ['https://a.example/t'], data: { n: 1 } }]);
      await sse.waitForUpdates(1);
      assert.equal(sse.updates[0]!.id, u!.id);
      assert.equal(sse.updates[0]!.data, '{"n":1}');
      sse.close();
      await assert.rejects(hub.publish({ topics: [], data: 'x' }), /HERALD_ERR_|topic/i);
      await assert.rejects(
        hub.publish({ topic: 'https://a.example/t', data: 'x', id: 'bad\nid' }),
        (e: unknown) => (e as { code?: string }).code === 'HERALD_ERR_BAD_ID',
      );
    } finally {
      await hub.close();
      server.close();
    }
  });
});
