import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { mintToken } from '../src/auth/mint.ts';
import type { Subscription } from '../src/hub/subscription.ts';
import { createPublisher } from '../src/client/index.ts';
import { launchChromium } from './support/browser.ts';
import { buildPage, HubWatch, serveDir } from './support/built-page.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { reportProgress } from '../docs/snippets/node-publisher.ts';

const SECRET = 'react-chromium-secret-0123456789abcdef';
const root = fileURLToPath(new URL('..', import.meta.url));
describe('React hooks and the browser client in Chromium', () => {
  let outDir: string;
  let pageServer: Server;
  let pageOrigin: string;
  let h: RunningHerald;
  let hubUrl: string;
  let browser: Browser;
  let page: Page;
  let subToken: string;
  let pubToken: string;
  const watch = new HubWatch();
  const subs = (): Subscription[] => [...h.hub.subscriptions()];
  const sockets = new Set<Socket>();

  async function startHub(port = 0): Promise<void> {
    h = await startHerald(
      {
        port,
        host: '127.0.0.1',
        jwtKey: SECRET,
        logLevel: 'silent',
        corsOrigins: [pageOrigin],
        heartbeat: 1000,
      },
      watch.observer,
    );
    h.server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    hubUrl = `${h.url}/.well-known/mercure`;
  }

  before(async () => {
    mkdirSync(join(root, 'test-output'), { recursive: true });
    outDir = await buildPage('react-page');
    pageServer = await serveDir(outDir);
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    await startHub();
    subToken = await mintToken({ secret: SECRET, subscribe: ['*'] });
    pubToken = await mintToken({ secret: SECRET, publish: ['*'] });
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${pageOrigin}/?hub=${encodeURIComponent(hubUrl)}&token=${subToken}&ticker=1`);
  });

  after(async () => {
    await browser?.close();
    await h?.close();
    pageServer?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('three components share one WebSocket and render what the docs publisher sends', async () => {
    await page.waitForSelector('[role=status][data-status=connected]');
    const jobSubs = () =>
      subs().filter((s) => s.selectors.some((sel) => sel.source === 'https://example.com/jobs/42'));
    await watch.until(
      () => jobSubs().length === 1 && jobSubs()[0]!.selectors.length === 2,
      'shared subscription',
    );
    assert.equal(jobSubs()[0]!.sink.transport, 'ws');
    assert.deepEqual(
      jobSubs()[0]!
        .selectors.map((s) => s.source)
        .sort(),
      ['https://example.com/feed/{user}', 'https://example.com/jobs/42'],
    );

    const ids = await reportProgress(hubUrl, pubToken, '42', 5);
    assert.equal(ids.length, 5);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.job')].every((p) => p.textContent === 'job 42: 5/5'),
    );
    await page.waitForFunction(() => document.querySelectorAll('.feed li').length === 2);
    assert.deepEqual(await page.$$eval('.feed li', (els) => els.map((e) => e.textContent)), [
      'job 42 finished',
      'job 42 seen by bob',
    ]);
    assert.equal(await page.$$eval('.job', (els) => els.length), 2);
    await page.screenshot({ path: join(root, 'test-output/react-page.png') });
  });

  test('the docs browser snippet lists ticker updates', async () => {
    await page.waitForSelector('#ticker[data-status=open]', { state: 'attached' });
    const publisher = createPublisher({ url: hubUrl, token: pubToken });
    await publisher.publish('https://example.com/ticker', 'ACME 12.5');
    await page.waitForFunction(() => document.querySelector('#ticker li')?.textContent === 'ACME 12.5');
    await publisher.close();
  });

  test('SSE over fetch streaming and over the EventSource fallback both work in the browser', async () => {
    const before = subs().filter((s) => s.sink.transport === 'sse').length;
    // A string, not a function: the test runner's transpiler decorates functions with helpers
    // the page does not have.
    await page.evaluate(`(() => {
      const got = { fetch: [], es: [] };
      window.got = got;
      for (const mode of ['fetch', 'es']) {
        window.herald.subscribe({
          url: ${JSON.stringify(hubUrl)},
          topics: ['https://example.com/sse-check'],
          token: ${JSON.stringify(subToken)},
          transport: 'sse',
          shared: false, // two connections of their own, one per SSE mode
          ...(mode === 'es' ? { fetch: false, types: ['note'] } : {}),
          onUpdate: (u) => got[mode].push((u.type ?? 'message') + ':' + u.data),
        });
      }
    })()`);
    await watch.until(
      () => subs().filter((s) => s.sink.transport === 'sse').length === before + 2,
      'two sse',
    );
    const publisher = createPublisher({ url: hubUrl, token: pubToken });
    await publisher.publish('https://example.com/sse-check', 'plain');
    await publisher.publish('https://example.com/sse-check', 'line1\nline2', { type: 'note' });
    await page.waitForFunction('window.got.fetch.length === 2 && window.got.es.length === 2');
    const got = await page.evaluate('window.got');
    assert.deepEqual(got, {
      fetch: ['message:plain', 'note:line1\nline2'],
      es: ['message:plain', 'note:line1\nline2'],
    });
    await publisher.close();
  });

  test('the status dot shows reconnecting while the hub is down and connected once it is back', async () => {
    const port = h.port;
    for (const s of sockets) s.destroy();
    await h.close();
    await page.waitForSelector('[role=status][data-status=reconnecting]');
    assert.equal(await page.textContent('[role=status]'), 'reconnecting');
    await startHub(port);
    await page.waitForSelector('[role=status][data-status=connected]', { timeout: 15_000 });
    const jobSubs = () =>
      subs().filter((s) => s.selectors.some((sel) => sel.source === 'https://example.com/jobs/42'));
    await watch.until(() => jobSubs().length === 1, 'resubscribed');
  });

  test('unmounting the provider closes its connection', async () => {
    const jobSubs = () =>
      subs().filter((s) => s.selectors.some((sel) => sel.source === 'https://example.com/jobs/42'));
    assert.equal(jobSubs().length, 1);
    await page.click('#toggle');
    await watch.until(() => jobSubs().length === 0, 'closed on unmount');
    assert.equal(await page.$$eval('.job', (els) => els.length), 0);
    await page.click('#toggle');
    await watch.until(() => jobSubs().length === 1, 'reopened on mount');
  });
});
