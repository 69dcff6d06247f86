import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { mintAccessToken } from '../src/auth/mint.ts';
import type { RunningHerald } from '../src/start.ts';
import { launchChromium } from './support/browser.ts';
import { TEST_KEY, hubUrl, publishForm, publisherToken, startTestHub } from './support/hub-fixture.ts';
import { serveStatic } from './support/static-server.ts';

// Two native EventSources on one page: one speaks draft-07 (`topic=` URI template), the
// other draft-08 (`match_urlpattern=`), both to the same hub endpoint.
const PAGE = `<!doctype html><meta charset="utf-8"><title>dialects</title>
<script>
  const p = new URLSearchParams(location.search);
  window.got = { d07: [], d08: [] };
  window.opened = 0;
  for (const [name, url] of [['d07', p.get('d07')], ['d08', p.get('d08')]]) {
    const es = new EventSource(url);
    es.onopen = () => { window.opened++; };
    es.onmessage = (e) => window.got[name].push(e.data);
  }
</script>`;

let browser: Browser;
let site: Awaited<ReturnType<typeof serveStatic>>;
let hub: RunningHerald;

before(async () => {
  browser = await launchChromium();
  site = await serveStatic({ '/': PAGE });
  hub = await startTestHub({
    anonymous: true,
    corsOrigins: [site.url],
    hubUrl: 'https://hub.test/.well-known/mercure',
    tokenIssuers: ['https://issuer.test'],
  });
});
after(async () => {
  await browser.close();
  await site.close();
  await hub.close();
});

test('a native EventSource in each dialect receives what publishers of either dialect send', async () => {
  const d07 = hubUrl(hub, `?topic=${encodeURIComponent('https://example.com/b/{id}')}`);
  const d08 = hubUrl(hub, `?match_urlpattern=${encodeURIComponent('https://example.com/b/:id')}`);
  const page = await browser.newPage();
  try {
    await page.goto(`${site.url}/?d07=${encodeURIComponent(d07)}&d08=${encodeURIComponent(d08)}`);
    await page.waitForFunction(() => (window as unknown as { opened: number }).opened === 2);
    const old = await publisherToken();
    const fresh = await mintAccessToken({
      secret: TEST_KEY,
      issuer: 'https://issuer.test',
      audience: 'https://hub.test/.well-known/mercure',
      details: [
        { actions: ['publish'], topics: [{ match: 'https://example.com/b/:id', match_type: 'urlpattern' }] },
      ],
    });
    assert.equal(
      (
        await publishForm(
          hub,
          [
            ['topic', 'https://example.com/b/1'],
            ['data', 'from 07'],
          ],
          old,
        )
      ).status,
      200,
    );
    assert.equal(
      (
        await publishForm(
          hub,
          [
            ['topic', 'https://example.com/b/2'],
            ['data', 'from 08'],
          ],
          fresh,
        )
      ).status,
      200,
    );
    await page.waitForFunction(() => {
      const g = (window as unknown as { got: { d07: string[]; d08: string[] } }).got;
      return g.d07.length === 2 && g.d08.length === 2;
    });
    assert.deepEqual(await page.evaluate(() => (window as unknown as { got: unknown }).got), {
      d07: ['from 07', 'from 08'],
      d08: ['from 07', 'from 08'],
    });
  } finally {
    await page.close();
  }
});
