import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startShop } from '../docs/snippets/express-app.ts';
import { createFeedApp } from '../docs/snippets/hono-app.ts';
import { mintToken } from '../src/auth/mint.ts';
import { launchChromium } from './support/browser.ts';
import { serveFetch } from './support/fetch-server.ts';

const KEY = 'embed-chromium-test-key-0123456789';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

/**
 * Opens a same-origin page of the app and a native EventSource on the hub path in it (the
 * token goes in the `authorization` query parameter, which EventSource can send).
 */
async function openEventSource(origin: string, hubPath: string, topic: string, token: string) {
  const page = await browser.newPage();
  await page.goto(`${origin}${hubPath.replace(/\/\.well-known\/mercure$/, '')}/healthz`);
  await page.evaluate(
    ({ url }) => {
      const w = window as unknown as { received: string[]; opened: number };
      w.received = [];
      w.opened = 0;
      const es = new EventSource(url);
      es.onopen = () => w.opened++;
      es.addEventListener('post', (e) => w.received.push((e as MessageEvent<string>).data));
      es.onmessage = (e) => w.received.push(e.data);
    },
    { url: `${hubPath}?topic=${encodeURIComponent(topic)}&authorization=${token}` },
  );
  await page.waitForFunction(() => (window as unknown as { opened: number }).opened === 1);
  return {
    page,
    received: () => page.evaluate(() => (window as unknown as { received: string[] }).received),
    waitFor: (n: number) =>
      page.waitForFunction((k) => (window as unknown as { received: string[] }).received.length >= k, n),
  };
}

test('Chromium EventSource on the hub mounted in Express receives an order update', async () => {
  const shop = await startShop(0, KEY);
  const origin = `http://127.0.0.1:${(shop.server.address() as AddressInfo).port}`;
  try {
    const token = await mintToken({ secret: KEY, subscribe: ['https://shop.example/orders/{id}'] });
    const es = await openEventSource(
      origin,
      '/hub/.well-known/mercure',
      'https://shop.example/orders/{id}',
      token,
    );
    const res = await fetch(`${origin}/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 42 }),
    });
    assert.equal(res.status, 200);
    await es.waitFor(1);
    assert.deepEqual(await es.received(), ['{"id":"42","status":"paid"}']);
    await es.page.close();
  } finally {
    await shop.close();
  }
});

test('Chromium EventSource on the fetch handler (Hono) receives a post through the web stream', async () => {
  const feed = await createFeedApp(KEY);
  const site = await serveFetch((request) => feed.app.fetch(request));
  try {
    const token = await mintToken({ secret: KEY, subscribe: ['*'] });
    const es = await openEventSource(
      site.url,
      '/realtime/.well-known/mercure',
      'https://feed.example/users/{name}',
      token,
    );
    for (const text of ['first', 'second\nline']) {
      const res = await fetch(`${site.url}/posts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ author: 'bob', text }),
      });
      assert.equal(res.status, 201);
    }
    await es.waitFor(2);
    assert.deepEqual(
      (await es.received()).map((d) => (JSON.parse(d) as { text: string }).text),
      ['first', 'second\nline'],
    );
    await es.page.close();
  } finally {
    await feed.hub.close();
    await site.close();
  }
});
