import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { mintToken } from '../src/auth/mint.ts';
import type { Subscription } from '../src/hub/subscription.ts';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { launchChromium } from './support/browser.ts';
import { buildPage, HubWatch, serveDir } from './support/built-page.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

const SECRET = 'react-state-secret-0123456789abcdef';
const TOPIC = (name: string): string => `https://example.com/stats/${name}`;

describe('useTopic with state: true in Chromium', () => {
  let redis: TestRedis;
  let outDir: string;
  let pageServer: Server;
  let pageOrigin: string;
  let h: RunningHerald;
  let browser: Browser;
  let page: Page;
  let pubToken: string;
  const watch = new HubWatch();
  const sockets = new Set<Socket>();
  const subs = (): Subscription[] => [...h.hub.subscriptions()];

  async function startNode(port = 0): Promise<RunningHerald> {
    const node = await startHerald(
      {
        port,
        host: '127.0.0.1',
        jwtKey: SECRET,
        logLevel: 'silent',
        corsOrigins: [pageOrigin],
        redis: redis.url,
        heartbeat: 1000,
      },
      watch.observer,
    );
    node.server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    return node;
  }

  /** A worker, as in docs/state.md: merge-patches with `$inc`, many at once. */
  async function increment(node: RunningHerald, name: string, times: number, errorsEvery = 0): Promise<void> {
    const workers = 4;
    let left = times;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (left > 0) {
          const i = left--;
          const res = await fetch(`${node.url}/.well-known/mercure`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({
              topics: TOPIC(name),
              patch: { $inc: { indexed: 1, errors: errorsEvery && i % errorsEvery === 0 ? 1 : 0 } },
            }),
          });
          assert.equal(res.status, 200, await res.text());
        }
      }),
    );
  }

  const counterText = (name: string): Promise<string | null> =>
    page.textContent(`.counter[data-name="${name}"]`);
  /** Waits until both counters and the template list show these numbers. */
  async function shows(a: [number, number], b: [number, number]): Promise<void> {
    const want = {
      a: `crawl-a: ${a[0]} indexed, ${a[1]} errors`,
      b: `crawl-b: ${b[0]} indexed, ${b[1]} errors`,
      list: [`crawl-a: ${a[0]}`, `crawl-b: ${b[0]}`],
    };
    await page
      .waitForFunction(
        `(() => {
          const want = ${JSON.stringify(want)};
          const text = (n) => document.querySelector('.counter[data-name="' + n + '"]')?.textContent;
          const list = [...document.querySelectorAll('.all-crawls li')]
            .map((li) => li.textContent)
            .filter((t) => /^crawl-[ab]:/.test(t));
          return text('crawl-a') === want.a && text('crawl-b') === want.b &&
            JSON.stringify(list) === JSON.stringify(want.list);
        })()`,
        undefined,
        { timeout: 15_000 },
      )
      .catch(async (e: Error) => {
        const list = await page.$$eval('.all-crawls li', (els) => els.map((x) => x.textContent));
        throw new Error(
          `${e.message}\nwanted ${JSON.stringify(want)}\npage: ${await counterText('crawl-a')} | ${await counterText('crawl-b')} | ${JSON.stringify(list)}`,
        );
      });
  }

  before(async () => {
    redis = await startRedis();
    outDir = await buildPage('react-state-page');
    pageServer = await serveDir(outDir);
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    h = await startNode();
    pubToken = await mintToken({ secret: SECRET, publish: ['*'] });
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });

  after(async () => {
    await browser?.close();
    await h?.close();
    pageServer?.close();
    await redis?.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test('components show the current numbers on mount, then live increments, over two shared WebSockets', async () => {
    await increment(h, 'crawl-a', 5, 5);
    await increment(h, 'crawl-b', 7);
    const subToken = await mintToken({ secret: SECRET, subscribe: ['*'] });
    await page.goto(
      `${pageOrigin}/?hub=${encodeURIComponent(`${h.url}/.well-known/mercure`)}&token=${subToken}`,
    );
    await shows([5, 1], [7, 0]);

    // Two counters share one state connection; the throttled template has its own.
    await watch.until(() => subs().length === 2, 'two subscriptions');
    const exact = subs().find((s) => s.conflation === undefined)!;
    const templated = subs().find((s) => s.conflation !== undefined)!;
    assert.deepEqual(exact.selectors.map((s) => s.source).sort(), [TOPIC('crawl-a'), TOPIC('crawl-b')]);
    assert.deepEqual(
      templated.selectors.map((s) => s.source),
      [TOPIC('{name}')],
    );
    assert.equal(templated.conflation!.intervalMs, 250);
    for (const s of subs()) {
      assert.equal(s.sink.transport, 'ws');
      assert.equal(s.stateMode, true);
    }

    await Promise.all([increment(h, 'crawl-a', 60, 10), increment(h, 'crawl-b', 40)]);
    await shows([65, 7], [47, 0]);
  });

  test('after the hub restarts, with changes made on another node meanwhile, the numbers are right', async () => {
    const port = h.port;
    for (const s of sockets) s.destroy();
    await h.close();
    await page.waitForSelector('[role=status][data-status=reconnecting]');
    // Another node on the same Redis takes the changes while this one is down.
    const other = await startNode();
    try {
      await Promise.all([increment(other, 'crawl-a', 20), increment(other, 'crawl-b', 10, 5)]);
      await increment(other, 'crawl-c', 3);
    } finally {
      await other.close();
    }
    h = await startNode(port);
    await page.waitForSelector('[role=status][data-status=connected]', { timeout: 15_000 });
    await shows([85, 7], [57, 2]);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.all-crawls li')].some((li) => li.textContent === 'crawl-c: 3'),
    );
    // And live again on the restarted node.
    await increment(h, 'crawl-b', 3);
    await shows([85, 7], [60, 2]);
  });

  test('a removed state leaves the record, and a remount starts from the current snapshot', async () => {
    const forget = async (name: string): Promise<void> => {
      const res = await fetch(`${h.url}/.well-known/mercure`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${pubToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ topics: TOPIC(name), patch: null }),
      });
      assert.equal(res.status, 200);
    };
    await forget('crawl-c');
    await page.waitForFunction(() => document.querySelectorAll('.all-crawls li').length === 2);

    await page.click('#toggle');
    await watch.until(() => subs().length === 0, 'closed on unmount');
    await increment(h, 'crawl-a', 1);
    await increment(h, 'crawl-d', 2);
    await forget('crawl-d');
    await page.click('#toggle');
    await shows([86, 7], [60, 2]);
    assert.deepEqual(await page.$$eval('.all-crawls li', (els) => els.map((e) => e.textContent)), [
      'crawl-a: 86',
      'crawl-b: 60',
    ]);
  });
});
