import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFeedApp } from '../docs/snippets/hono-app.ts';
import { mintToken } from '../src/auth/mint.ts';
import { createHub, type HeraldHub } from '../src/index.ts';
import { serveFetch, type FetchServer } from './support/fetch-server.ts';
import { SseConnection } from './support/sse-client.ts';
import { eventually } from './support/wait.ts';

const KEY = 'embed-fetch-test-key-0123456789';

type NextRoute = typeof import('../docs/snippets/next/app/api/mercure/route.ts');
type NextHub = typeof import('../docs/snippets/next/lib/herald.ts');
type NextActions = typeof import('../docs/snippets/next/app/actions.ts');

describe('Herald as a Next.js App Router route (docs/snippets/next/app/api/mercure/route.ts)', () => {
  let route: NextRoute;
  let lib: NextHub;
  let actions: NextActions;
  let site: FetchServer;
  let endpoint: string;

  before(async () => {
    process.env['HERALD_JWT_KEY'] = KEY;
    route = await import('../docs/snippets/next/app/api/mercure/route.ts');
    lib = await import('../docs/snippets/next/lib/herald.ts');
    actions = await import('../docs/snippets/next/app/actions.ts');
    // Next.js calls the exported method handler with the Request and a `{ params }` context.
    site = await serveFetch(
      (request, ctx) => {
        if (new URL(request.url).pathname !== '/api/mercure')
          return new Response('not found', { status: 404 });
        const handler = { GET: route.GET, POST: route.POST, OPTIONS: route.OPTIONS }[request.method];
        return handler ? handler(request, ctx) : new Response(null, { status: 405 });
      },
      () => ({ params: Promise.resolve({}) }),
    );
    endpoint = `${site.url}/api/mercure`;
  });
  after(async () => {
    await lib.hub.close();
    await site.close();
  });

  test('an SSE subscriber on the route gets HTTP and server-side publishes, in order', async () => {
    const sub = await mintToken({ secret: KEY, subscribe: ['*'] });
    const sse = await SseConnection.open(
      `${endpoint}?topic=${encodeURIComponent('https://app.example/{+x}')}`,
      {
        Authorization: `Bearer ${sub}`,
      },
    );
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
    await sse.live();
    const pub = await mintToken({ secret: KEY, publish: ['*'] });
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ topics: ['https://app.example/a'], data: 'over HTTP', type: 'note' }),
    });
    assert.equal(res.status, 200);
    const httpId = await res.text();
    const storedId = await actions.markDone('b');
    await sse.waitForUpdates(2);
    assert.deepEqual(sse.updates, [
      { id: httpId, event: 'note', data: 'over HTTP' },
      { id: storedId, event: 'message', data: '{"status":"done"}' },
    ]);

    // Resume from the first id: only the second comes back.
    const resumed = await SseConnection.open(
      `${endpoint}?topic=${encodeURIComponent('https://app.example/{+x}')}`,
      {
        Authorization: `Bearer ${sub}`,
        'Last-Event-ID': httpId,
      },
    );
    await resumed.waitForUpdates(1);
    assert.equal(resumed.headers['last-event-id'], httpId);
    assert.deepEqual(
      resumed.updates.map((u) => u.id),
      [storedId],
    );
    sse.close();
    resumed.close();
    await eventually(() => lib.hub.hub.connectionCount === 0, 'both streams to be unsubscribed');
  });

  test('bad requests get the same statuses and one-line reasons as standalone', async () => {
    const noToken = await fetch(`${endpoint}?topic=x`);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('x-herald-error'), 'HERALD_ERR_UNAUTHORIZED');
    assert.match(await noToken.text(), /^[^\n]+\n$/);
    const sub = await mintToken({ secret: KEY, subscribe: ['*'] });
    const noTopic = await fetch(endpoint, { headers: { Authorization: `Bearer ${sub}` } });
    assert.equal(noTopic.headers.get('x-herald-error'), 'HERALD_ERR_MISSING_TOPIC');
    const badEscape = await fetch(`${endpoint}?topic=%E0%A4%A`, {
      headers: { Authorization: `Bearer ${sub}` },
    });
    assert.equal(badEscape.status, 400);
    const pub = await mintToken({ secret: KEY, publish: ['*'] });
    const tooBig = await fetch(endpoint, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ topics: ['https://app.example/a'], data: 'x'.repeat(1024 * 1024) }),
    });
    assert.equal(tooBig.status, 413);
    const notJson = await fetch(endpoint, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/json' },
      body: '{"topics":',
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.headers.get('x-herald-error'), 'HERALD_ERR_BAD_BODY');
    const refusals = lib.hub.hub.counters.refusals;
    assert.ok((refusals['HERALD_ERR_BODY_TOO_LARGE'] ?? 0) >= 1, 'refusals are counted for metrics');
  });

  test('a stream body that is never read is cut by the slow-consumer policy and unsubscribed', async () => {
    const hub = await createHub({ jwtKey: KEY, anonymous: true, maxBuffered: 64 * 1024, logLevel: 'silent' });
    try {
      const res = await hub.fetch(
        new Request('http://app.local/.well-known/mercure?topic=https://a.example/flood'),
      );
      assert.equal(res.status, 200);
      assert.equal(hub.hub.connectionCount, 1);
      // Nobody reads the body: the stream's queue fills up to the budget.
      const big = 'y'.repeat(16 * 1024);
      for (let i = 0; i < 20 && hub.hub.connectionCount > 0; i++)
        await hub.publish({ topic: 'https://a.example/flood', data: big });
      await eventually(() => hub.hub.connectionCount === 0, 'the slow consumer to be disconnected');
      assert.equal(hub.hub.counters.slowConsumer.disconnect, 1);
      await res.body?.cancel();
    } finally {
      await hub.close();
    }
  });
});

describe('Herald in a Hono app (docs/snippets/hono-app.ts)', () => {
  let feed: Awaited<ReturnType<typeof createFeedApp>>;
  let site: FetchServer;

  before(async () => {
    feed = await createFeedApp(KEY);
    site = await serveFetch((request) => feed.app.fetch(request));
  });
  after(async () => {
    await feed.hub.close();
    await site.close();
  });

  test("a Hono route's publish reaches an SSE subscriber of the mounted hub; a client that leaves is unsubscribed", async () => {
    const sub = await mintToken({ secret: KEY, subscribe: ['https://feed.example/users/{name}'] });
    const sse = await SseConnection.open(
      `${site.url}/realtime/.well-known/mercure?topic=${encodeURIComponent('https://feed.example/users/ada')}`,
      { Authorization: `Bearer ${sub}` },
    );
    assert.equal(sse.status, 200);
    await sse.live();
    const res = await fetch(`${site.url}/posts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ author: 'ada', text: 'hello' }),
    });
    assert.equal(res.status, 201);
    await sse.waitForUpdates(1);
    assert.equal(sse.updates[0]!.event, 'post');
    assert.deepEqual(JSON.parse(sse.updates[0]!.data), { author: 'ada', text: 'hello' });
    assert.equal(feed.hub.hub.connectionCount, 1);
    sse.close();
    await eventually(() => feed.hub.hub.connectionCount === 0, 'the hub to drop the closed subscriber');
  });

  test('health answers under the base path; unknown hub paths are a 404 with a reason', async () => {
    assert.equal(await (await fetch(`${site.url}/realtime/healthz`)).text(), 'ok\n');
    const metrics = await (await fetch(`${site.url}/realtime/metrics`)).text();
    assert.match(metrics, /^herald_connections_active\{transport="sse"\} \d+/m);
    const nope = await fetch(`${site.url}/realtime/nope`);
    assert.equal(nope.status, 404);
    assert.equal(nope.headers.get('x-herald-error'), 'HERALD_ERR_NOT_FOUND');
  });

  test('shutdown tells a fetch-adapter subscriber to come back and ends its stream', async () => {
    const hub: HeraldHub = await createHub({ jwtKey: KEY, anonymous: true, logLevel: 'silent' });
    const own = await serveFetch((request) => hub.fetch(request));
    try {
      const sse = await SseConnection.open(`${own.url}/.well-known/mercure?topic=https://a.example/t`);
      await sse.live();
      await hub.close();
      await sse.waitForEnd();
      assert.ok(sse.events.some((e) => e.event === 'herald.shutdown'));
    } finally {
      await own.close();
    }
  });
});
