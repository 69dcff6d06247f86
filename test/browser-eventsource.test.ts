import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { RunningHerald } from '../src/start.ts';
import { launchChromium } from './support/browser.ts';
import { hubUrl, publishForm, publisherToken, startTestHub } from './support/hub-fixture.ts';
import { serveStatic } from './support/static-server.ts';

const TOPIC = 'https://example.com/browser/{id}';
const PAGE = `<!doctype html><meta charset="utf-8"><title>es</title><ul id="log"></ul>
<script>
  window.received = [];
  window.opens = 0;
  const es = new EventSource(new URLSearchParams(location.search).get('hub'));
  es.onopen = () => { window.opens++; };
  es.onmessage = (e) => {
    window.received.push({ id: e.lastEventId, data: e.data });
    const li = document.createElement('li');
    li.textContent = e.data;
    document.getElementById('log').append(li);
  };
  es.addEventListener('herald.gap', () => { window.gaps = (window.gaps || 0) + 1; });
</script>`;

let browser: Browser;
let site: Awaited<ReturnType<typeof serveStatic>>;

before(async () => {
  browser = await launchChromium();
  site = await serveStatic({ '/': PAGE });
});
after(async () => {
  await browser.close();
  await site.close();
});

test('a native EventSource in Chromium receives updates, and again after the hub restarts', async () => {
  let hub: RunningHerald = await startTestHub({ anonymous: true, corsOrigins: [site.url] });
  const port = hub.port;
  const pub = await publisherToken();
  const page = await browser.newPage();
  try {
    const sub = hubUrl(hub, `?topic=${encodeURIComponent(TOPIC)}`);
    await page.goto(`${site.url}/?hub=${encodeURIComponent(sub)}`);
    await page.waitForFunction(() => (window as unknown as { opens: number }).opens === 1);
    const first = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/browser/1'],
        ['data', 'multi\nline'],
        ['id', 'b-1'],
      ],
      pub,
    );
    assert.equal(first.status, 200);
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length === 1);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { received: unknown[] }).received), [
      { id: 'b-1', data: 'multi\nline' },
    ]);
    // A private update must not reach a browser without credentials.
    await publishForm(
      hub,
      [
        ['topic', 'https://example.com/browser/1'],
        ['data', 'secret'],
        ['private', 'on'],
      ],
      pub,
    );

    await hub.close();
    hub = await startTestHub({ anonymous: true, corsOrigins: [site.url], port });
    // The browser reconnects by itself (the shutdown event set its retry delay).
    await page.waitForFunction(() => (window as unknown as { opens: number }).opens === 2, undefined, {
      timeout: 20_000,
    });
    const again = await publishForm(
      hub,
      [
        ['topic', 'https://example.com/browser/2'],
        ['data', 'after restart'],
        ['id', 'b-2'],
      ],
      pub,
    );
    assert.equal(again.status, 200);
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length === 2);
    const got = await page.evaluate(() =>
      (window as unknown as { received: { data: string }[] }).received.map((r) => r.data),
    );
    assert.deepEqual(got, ['multi\nline', 'after restart']);
    assert.equal(await page.locator('#log li').count(), 2);
  } finally {
    await page.close();
    await hub.close();
  }
});
