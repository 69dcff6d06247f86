import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import react from '@vitejs/plugin-react';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { mintAccessToken } from '../src/auth/mint.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { launchChromium } from './support/browser.ts';
import { serveDir } from './support/built-page.ts';

// Issue 17: `useTopic` (WebSocket) and the SDK's SSE subscriber (URL pattern, fetch
// streaming) in Chromium, with a draft-08 access token only: private updates reach both
// through the token's authorization_details, and the hub saw draft-08 subscriptions. (A
// subscriber with URL patterns only once failed here: the browser's tab-sharing path
// demanded at least one topic.)

const SECRET = 'react-d08-secret-0123456789abcdef012345';
const ISSUER = 'https://issuer.test';
const AUD = 'http://localhost/.well-known/mercure';
const root = fileURLToPath(new URL('..', import.meta.url));

describe('useTopic and the SDK with a draft-08 access token in Chromium', () => {
  let outDir: string;
  let pageServer: Server;
  let h: RunningHerald;
  let browser: Browser;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'herald-d08-page-'));
    await build({
      configFile: false,
      root: join(root, 'test/react-d08-page'),
      logLevel: 'warn',
      plugins: [react()],
      resolve: {
        alias: {
          'herald/client': join(root, 'src/client/index.ts'),
          'herald/react': join(root, 'src/react/index.ts'),
        },
      },
      build: { outDir, emptyOutDir: true, sourcemap: false },
    });
    pageServer = await serveDir(outDir);
    const origin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    h = await startHerald({
      port: 0,
      host: '127.0.0.1',
      jwtKey: SECRET,
      logLevel: 'silent',
      corsOrigins: [origin],
      tokenIssuers: [ISSUER],
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    pageServer?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('private updates reach useTopic (exact matcher over WebSocket) and a URL-pattern SSE subscriber', async () => {
    const hub = `${h.url}/.well-known/mercure`;
    const reader = await mintAccessToken({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUD,
      details: [
        {
          actions: ['subscribe'],
          topics: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
        },
      ],
    });
    const writer = await mintAccessToken({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUD,
      details: [{ actions: ['publish'], topics: [{ match: '*' }] }],
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const query = new URLSearchParams({
      hub,
      token: reader,
      topic: 'https://example.com/books/1',
      pattern: 'https://example.com/books/:id',
    });
    const pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/?${query}`;
    await page.goto(pageUrl);
    await page.waitForSelector('#book[data-status=open]', { state: 'attached' });
    await page.waitForFunction(
      () => (window as unknown as { sdk?: { status: string } }).sdk?.status === 'open',
    );
    assert.deepEqual(errors, []);
    // Both subscriptions are on the hub in draft-08 terms.
    const kinds = [...h.hub.subscriptions()].flatMap((s) =>
      s.selectors.map((sel) => `${sel.type} ${sel.source}`),
    );
    assert.deepEqual(kinds.sort(), [
      'exact https://example.com/books/1',
      'urlpattern https://example.com/books/:id',
    ]);

    for (const [topic, title] of [
      ['https://example.com/books/1', 'Dune'],
      ['https://example.com/books/2', 'Emma'],
    ]) {
      const res = await fetch(hub, {
        method: 'POST',
        headers: { Authorization: `Bearer ${writer}` },
        body: new URLSearchParams({ topic: topic!, data: JSON.stringify({ title }), private: 'on' }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    await page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.length === 2);
    assert.deepEqual(
      (await page.evaluate(() => (window as unknown as { seen: string[] }).seen)).map(
        (d) => JSON.parse(d).title,
      ),
      ['Dune', 'Emma'],
    );
    await page.waitForFunction(() => document.getElementById('book')?.textContent === 'Dune');
    await page.close();
  });
});
