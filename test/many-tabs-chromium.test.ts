import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { type Server } from 'node:http';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHerald, type RunningHerald } from '../src/start.ts';
import { launchChromium } from './support/browser.ts';
import { buildPage, HubWatch, serveDir } from './support/built-page.ts';
import { h2Connect, h2Request } from './support/h2-client.ts';
import { publisherToken, subscriberToken, TEST_KEY } from './support/hub-fixture.ts';
import { testCert } from './support/tls.ts';

const TOPIC = 'https://example.com/tabs';

describe('many tabs of one origin in Chromium', () => {
  const cert = testCert();
  let outDir: string;
  let pageServer: Server;
  let pageOrigin: string;
  let browser: Browser;
  let sub: string;
  let pub: string;

  before(async () => {
    // Relative asset paths: the same build is also served by the hub under /dashboard/.
    outDir = await buildPage('tabs-page', { react: false });
    pageServer = await serveDir(outDir);
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    // Trust exactly the test certificate's key (Playwright passes --user-data-dir, which this needs).
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${cert.spki}`]);
    sub = await subscriberToken();
    pub = await publisherToken();
  });

  after(async () => {
    await browser?.close();
    pageServer?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    cert.remove();
  });

  async function startHub(watch: HubWatch, tls: boolean): Promise<RunningHerald> {
    return startHerald(
      {
        port: 0,
        host: '127.0.0.1',
        jwtKey: TEST_KEY,
        logLevel: 'silent',
        corsOrigins: [pageOrigin],
        dashboardDir: outDir,
        ...(tls ? { tlsCert: cert.certFile, tlsKey: cert.keyFile } : {}),
      },
      watch.observer,
    );
  }

  async function openTabs(
    context: BrowserContext,
    h: RunningHerald,
    n: number,
    shared: boolean,
    token = sub,
    origin = pageOrigin,
  ): Promise<Page[]> {
    const query = new URLSearchParams({
      hub: `${h.url}${h.config.path}`,
      token,
      topic: TOPIC,
      shared: shared ? '1' : '0',
    });
    return Promise.all(
      Array.from({ length: n }, async () => {
        const page = await context.newPage();
        page.setDefaultTimeout(10_000);
        page.on('pageerror', (e) => console.error('page error:', e.message));
        await page.goto(`${origin}/?${query}`);
        return page;
      }),
    );
  }

  /** Publishes over HTTP/2 to a TLS hub, over HTTP/1.1 otherwise; returns the update's id. */
  async function publish(h: RunningHerald, data: string): Promise<string> {
    const form = new URLSearchParams({ topic: TOPIC, data }).toString();
    if (h.url.startsWith('https:')) {
      const session = await h2Connect(h.url, cert.ca);
      try {
        const r = await h2Request(
          session,
          {
            ':method': 'POST',
            ':path': h.config.path,
            authorization: `Bearer ${pub}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          form,
        );
        assert.equal(r.status, 200, r.body);
        return r.body;
      } finally {
        session.close();
      }
    }
    const res = await fetch(`${h.url}${h.config.path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${pub}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    assert.equal(res.status, 200);
    return res.text();
  }

  const received = (page: Page): Promise<string[]> =>
    page.evaluate('window.got.map((u) => u.id)') as Promise<string[]>;
  const countIs = (page: Page, n: number) =>
    page.waitForSelector(`body[data-count="${n}"]`, { state: 'attached' });

  test('over HTTPS/HTTP/2 ten tabs each get their own stream on one connection, all live at once', async () => {
    const watch = new HubWatch();
    const h = await startHub(watch, true);
    // The HTTP/2 connection each subscribe stream came on (CORS preflights, sent without
    // credentials, travel on a connection of their own).
    const carriers: ServerHttp2Session[] = [];
    h.server.on('stream', (stream: ServerHttp2Stream, headers: Record<string, string>) => {
      if (headers[':method'] === 'GET' && headers[':path']?.startsWith(h.config.path))
        carriers.push(stream.session as ServerHttp2Session);
    });
    const context = await browser.newContext();
    try {
      const tabs = await openTabs(context, h, 10, false);
      await watch.until(() => [...h.hub.subscriptions()].length === 10, 'ten subscriptions');
      const ids = [await publish(h, 'a'), await publish(h, 'b')];
      await Promise.all(tabs.map((t) => countIs(t, 2)));
      for (const t of tabs) assert.deepEqual(await received(t), ids);
      assert.equal(carriers.length, 10);
      assert.equal(new Set(carriers).size, 1, 'the ten tabs share one HTTP/2 connection');
    } finally {
      await context.close();
      await h.close();
    }
  });

  test('control: over HTTP/1.1 without sharing the seventh tab waits until another tab closes', async () => {
    const watch = new HubWatch();
    const h = await startHub(watch, false);
    const context = await browser.newContext();
    try {
      const tabs = await openTabs(context, h, 7, false);
      await watch.until(() => [...h.hub.subscriptions()].length === 6, 'six subscriptions');
      await publish(h, 'x');
      // The six tabs that got the update are live; the seventh never sent its request.
      const live = await firstN(
        tabs.map((t) => countIs(t, 1).then(() => t)),
        6,
      );
      const stalled = tabs.find((t) => !live.includes(t))!;
      assert.equal(await stalled.evaluate('window.sub.status'), 'connecting');
      assert.deepEqual(await received(stalled), []);
      assert.equal([...h.hub.subscriptions()].length, 6);
      await live[0]!.close();
      await stalled.waitForSelector('body[data-status=open]', { state: 'attached' });
    } finally {
      await context.close();
      await h.close();
    }
  });

  test('with the shared connection eight HTTP/1.1 tabs cost one subscription, and a closed leader is replaced with nothing lost or repeated', async () => {
    const watch = new HubWatch();
    const h = await startHub(watch, false);
    const context = await browser.newContext();
    try {
      const tabs = await openTabs(context, h, 8, true);
      await Promise.all(tabs.map((t) => t.waitForSelector('body[data-status=open]', { state: 'attached' })));
      assert.equal([...h.hub.subscriptions()].length, 1, 'one upstream subscription for eight tabs');
      const ids = [await publish(h, '1'), await publish(h, '2'), await publish(h, '3')];
      await Promise.all(tabs.map((t) => countIs(t, 3)));

      const leaders = await Promise.all(tabs.map((t) => t.evaluate('window.sub.leader')));
      assert.equal(leaders.filter((l) => l === true).length, 1, 'exactly one leader');
      const leader = tabs[leaders.indexOf(true)]!;
      const rest = tabs.filter((t) => t !== leader);
      const resumesBefore = watch.resumes;
      await leader.close();
      // Published while the group has no leader: the next one must fetch these by resuming.
      ids.push(await publish(h, '4'), await publish(h, '5'));
      await watch.until(() => watch.resumes > resumesBefore, 'the new leader resumed from its last id');
      await watch.until(() => [...h.hub.subscriptions()].length === 1, 'one subscription again');
      ids.push(await publish(h, '6'), await publish(h, '7'));
      await Promise.all(rest.map((t) => countIs(t, 7)));
      for (const t of rest) assert.deepEqual(await received(t), ids, 'every update once, in order');
      const newLeaders = await Promise.all(rest.map((t) => t.evaluate('window.sub.leader')));
      assert.equal(newLeaders.filter((l) => l === true).length, 1, 'exactly one new leader');
    } finally {
      await context.close();
      await h.close();
    }
  });

  test("a token the hub refuses closes every tab of a shared group with the hub's error code", async () => {
    const watch = new HubWatch();
    const h = await startHub(watch, false);
    const context = await browser.newContext();
    try {
      // Pages from the hub's own origin: main's error responses carry no CORS headers, so a
      // cross-origin page would see the 401 as a network failure and retry.
      const tabs = await openTabs(context, h, 3, true, 'not-a-jwt', `${h.url}/dashboard`);
      for (const t of tabs) {
        await t.waitForSelector('body[data-status=closed]', { state: 'attached' });
        assert.equal(await t.evaluate('document.body.dataset.error'), 'HERALD_ERR_UNAUTHORIZED');
      }
      assert.equal([...h.hub.subscriptions()].length, 0);
    } finally {
      await context.close();
      await h.close();
    }
  });
});

/** The first `n` of `promises` to resolve, in the order they did. */
function firstN<T>(promises: Promise<T>[], n: number): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const done: T[] = [];
    for (const p of promises)
      p.then((v) => {
        done.push(v);
        if (done.length === n) resolve(done);
      }, reject);
  });
}
