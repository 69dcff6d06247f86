/**
 * The dashboard in a real headless Chromium against a running hub: login refused and
 * accepted, live counters and tail moving as Node publishes, pause, the publish form, a
 * refused selector, dev mode, and the token never reaching a URL. Screenshots go to
 * test-output/dashboard/.
 *
 *   node --import tsx --test dashboard/dashboard.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { mintToken } from '../src/auth/mint.ts';
import { launchChromium } from '../test/support/browser.ts';
import { TEST_KEY, startTestHub } from '../test/support/hub-fixture.ts';
import { WsProbe } from '../test/support/ws-probe.ts';
import { ensureDashboardBuilt } from './build.ts';
import { startFakeHub } from './dev-fake-hub.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../test-output/dashboard/', import.meta.url));
const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const HUB_PATH = '/.well-known/mercure';
const SECRET = TEST_KEY;
/** `DASHBOARD_HUB=fake` runs the same scenarios against dev-fake-hub.ts. */
const FAKE = process.env.DASHBOARD_HUB === 'fake';

interface RunningHub {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

/** The real hub, in process, serving the built dashboard; `port` restarts one on a known port. */
async function startHub(dev: boolean, port = 0): Promise<RunningHub> {
  if (FAKE) return startFakeHub({ dev, demo: false, port });
  const running = await startTestHub({ dev, port, dashboardDir: DIST });
  const adminToken = await mintToken({
    secret: SECRET,
    publish: ['*'],
    subscribe: ['*'],
    subject: 'dashboard-test',
    admin: true,
  });
  return { url: running.url, adminToken, close: () => running.close() };
}

/** Publishes as a backend would: over HTTP, with the admin token. */
async function publish(hub: RunningHub, topic: string, data: string, type?: string): Promise<string> {
  const body = new URLSearchParams({ topic, data, ...(type ? { type } : {}) });
  const res = await fetch(`${hub.url}${HUB_PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${hub.adminToken}` },
    body,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.text();
}

function count(text: string | null): number {
  return Number((text ?? '').replace(/[^\d.]/g, ''));
}

async function kpi(page: Page, id: string): Promise<number> {
  return count(await page.getByTestId(id).locator('.kpi-value').textContent());
}

/** Waits until the number in `selector` satisfies `op` against `n` (the page updates once a second). */
async function waitNumber(page: Page, selector: string, op: '>=' | '<=', n: number): Promise<void> {
  await page.waitForFunction(
    ([sel, o, min]) => {
      const value = Number((document.querySelector(sel)?.textContent ?? '').replace(/[^\d.]/g, ''));
      return o === '>=' ? value >= min : value <= min;
    },
    [selector, op, n] as const,
    { timeout: 10_000 },
  );
}

/** Where every card and headline number sits, to check that live numbers never move the layout. */
async function layout(page: Page): Promise<string> {
  return page.evaluate(() =>
    JSON.stringify(
      [...document.querySelectorAll('.card, .kpi, .pill, .chart')].map((el) => {
        const r = el.getBoundingClientRect();
        return [r.x, r.y, r.width, r.height].map(Math.round);
      }),
    ),
  );
}

async function signIn(page: Page, hub: RunningHub, token: string): Promise<void> {
  await page.goto(`${hub.url}/dashboard/`);
  await page.getByTestId('login-token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function waitLive(page: Page): Promise<void> {
  await page.getByTestId('status').filter({ hasText: 'Live' }).waitFor({ timeout: 10_000 });
  // The first stats update fills the headline numbers.
  await page.waitForFunction(
    () => /\d/.test(document.querySelector('[data-testid="kpi-connections"] .kpi-value')?.textContent ?? ''),
    null,
    { timeout: 10_000 },
  );
}

describe('dashboard in Chromium', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let browser: Browser;
  let hub: RunningHub;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureDashboardBuilt();
    hub = await startHub(false);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  test('a bad token is refused on the login screen with the hub reason', async () => {
    const page = await browser.newPage();
    try {
      await signIn(page, hub, 'not-a-jwt');
      const error = page.getByTestId('login-error');
      await error.filter({ hasText: /\S/ }).waitFor({ timeout: 10_000 });
      assert.match((await error.textContent()) ?? '', /token/i);
      assert.equal(
        await page.evaluate(() => window.sessionStorage.length),
        0,
        'a refused token is not stored',
      );
      await page.screenshot({ path: `${SHOTS}login-refused.png` });
    } finally {
      await page.close();
    }
  });

  test('an admin token opens the dashboard and the tail and counters follow what Node publishes', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const readerAbort = new AbortController();
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      const before = await kpi(page, 'kpi-published');
      const connectionsBefore = await kpi(page, 'kpi-connections');
      const layoutBefore = await layout(page);

      // Another subscriber, as a browser of the app would be.
      const reader = FAKE
        ? hub.adminToken
        : await mintToken({ secret: SECRET, subscribe: ['/books/{id}'], subject: 'reader' });
      const res = await fetch(`${hub.url}${HUB_PATH}?topic=/books/1`, {
        headers: { Authorization: `Bearer ${reader}` },
        signal: readerAbort.signal,
      });
      assert.equal(res.status, 200);
      await page.waitForFunction(
        (min) =>
          Number(
            (document.querySelector('[data-testid="kpi-connections"] .kpi-value')?.textContent ?? '').replace(
              /\D/g,
              '',
            ),
          ) >= min,
        connectionsBefore + 1,
        { timeout: 10_000 },
      );
      if (!FAKE) await page.getByTestId('connections').getByText('reader').waitFor({ timeout: 5_000 });

      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1)
        ids.push(await publish(hub, '/books/1', JSON.stringify({ title: `Book ${i}` }), 'book.updated'));
      const tail = page.getByTestId('tail-list');
      for (const id of ids) await tail.locator(`[title="${id}"]`).waitFor({ timeout: 10_000 });
      await tail.getByText('{"title":"Book 4"}').waitFor();
      assert.equal(await tail.getByText('book.updated').count(), 5);

      await page.waitForFunction(
        (min) =>
          Number(
            (document.querySelector('[data-testid="kpi-published"] .kpi-value')?.textContent ?? '').replace(
              /\D/g,
              '',
            ),
          ) >= min,
        before + 5,
        { timeout: 10_000 },
      );
      await page.getByTestId('topics').getByText('/books/1').waitFor({ timeout: 10_000 });
      assert.ok((await kpi(page, 'kpi-connections')) >= 1);
      // The bad token of the first test was counted.
      await page.getByTestId('refusals').locator('tbody tr').first().waitFor({ timeout: 5_000 });

      assert.equal(await page.locator('[data-testid="rates"] canvas').count(), 1, 'the rate chart is drawn');
      assert.equal(await layout(page), layoutBefore, 'changing numbers, rows and tail entries move no card');

      // The headline rate is the hub's own number (its window averaging is tested in
      // src/hub/hub.test.ts): a burst of updates shows as a rate above zero, without timing it.
      for (let i = 0; i < 10; i += 1)
        await publish(hub, '/orders/7', JSON.stringify({ n: i }), 'order.updated');
      await waitNumber(page, '[data-testid="kpi-publish-rate"] .kpi-value', '>=', 0.1);
      const title = (await page.getByTestId('rates').locator('h2').textContent()) ?? '';
      if (!FAKE) assert.match(title, /\(5 s average\)/, 'the chart says how its rates are measured');

      // A topic nobody subscribes to by name is listed because it is published to, with the
      // subscriptions matching it (this page's own `*`) and its rate; `*` is listed as a selector.
      const topics = page.getByTestId('topics');
      const orders = topics.locator('tr', { hasText: '/orders/7' });
      await orders.waitFor({ timeout: 5_000 });
      const cells = await orders.locator('td').allTextContents();
      assert.ok(Number(cells[1]) >= 1, `subscribers of /orders/7: ${cells[1]}`);
      assert.ok(Number(cells[2]) > 0, `update rate of /orders/7: ${cells[2]}`);
      if (!FAKE) {
        // Retained state (the state extension) shows in the topic's row.
        const res = await fetch(`${hub.url}${HUB_PATH}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${hub.adminToken}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ topics: '/orders/7', data: '{"status":"shipped"}', retain: true }),
        });
        assert.equal(res.status, 200, await res.text());
        await orders.locator('td.retained', { hasText: '{"status":"shipped"}' }).waitFor({ timeout: 5_000 });
        const star = topics.locator('tr.pattern', { hasText: '*' });
        await star.waitFor({ timeout: 5_000 });
        assert.match((await star.textContent()) ?? '', /selector/);
      }
      await page.screenshot({ path: `${SHOTS}dashboard-light.png`, fullPage: true });

      assert.equal(
        await page.evaluate(() => window.sessionStorage.getItem('herald.dashboard.token')),
        hub.adminToken,
      );
      assert.equal(await page.evaluate(() => window.localStorage.getItem('herald.dashboard.token')), null);
      assert.ok(!requested.some((url) => url.includes(hub.adminToken)), 'the token never appears in a URL');
    } finally {
      readerAbort.abort();
      await page.close();
    }
  });

  test(
    'a WebSocket subscriber shows in the WS count and leaves it when it disconnects',
    { skip: FAKE && 'the fake hub has no WebSocket endpoint' },
    async () => {
      const page = await browser.newPage();
      let probe: WsProbe | undefined;
      try {
        await signIn(page, hub, hub.adminToken);
        await waitLive(page);
        const wsCount = '[data-testid="transport-ws"] dd';
        await waitNumber(page, wsCount, '<=', 0);
        const reader = await mintToken({ secret: SECRET, subscribe: ['/ws/{id}'], subject: 'ws-reader' });
        probe = new WsProbe(`${hub.url.replace(/^http/, 'ws')}${HUB_PATH}/ws`, {
          headers: { Authorization: `Bearer ${reader}` },
        });
        await probe.opened;
        probe.send({ op: 'subscribe', topics: ['/ws/{id}'] });
        await probe.op('subscribed');
        await waitNumber(page, wsCount, '>=', 1);
        await page.getByTestId('connections').getByText('ws-reader').waitFor({ timeout: 5_000 });
        await page.getByTestId('topics').locator('tr.pattern', { hasText: '/ws/{id}' }).waitFor();
        await probe.close();
        probe = undefined;
        await waitNumber(page, wsCount, '<=', 0);
      } finally {
        if (probe) await probe.close();
        await page.close();
      }
    },
  );

  test(
    'a valid token without the admin claim is sent back to the login screen',
    { skip: FAKE && 'the fake hub does not check the admin claim' },
    async () => {
      const page = await browser.newPage();
      try {
        const plain = await mintToken({ secret: SECRET, subscribe: ['*'], subject: 'not-admin' });
        await signIn(page, hub, plain);
        const error = page.getByTestId('login-error');
        await error.filter({ hasText: 'admin' }).waitFor({ timeout: 10_000 });
        assert.equal(await page.evaluate(() => window.sessionStorage.length), 0);
      } finally {
        await page.close();
      }
    },
  );

  test('pause holds the tail and resume shows what arrived meanwhile', async () => {
    const page = await browser.newPage();
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      await page.getByTestId('tail-pause').click();
      const id = await publish(hub, '/books/2', '"while paused"');
      await page.getByText('paused · 1 new').waitFor({ timeout: 10_000 });
      assert.equal(await page.getByTestId('tail-list').locator(`[title="${id}"]`).count(), 0);
      await page.getByTestId('tail-pause').click();
      await page.getByTestId('tail-list').locator(`[title="${id}"]`).waitFor({ timeout: 5_000 });
    } finally {
      await page.close();
    }
  });

  test('the publish form sends an update that comes back through the tail', async () => {
    const page = await browser.newPage();
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      const form = page.getByTestId('publish');
      await form.getByLabel('Topic').fill('/forms/test');
      await form.getByLabel('Data').fill('{"from":"form"}');
      await form.getByLabel('Type').fill('form.sent');
      await form.getByRole('checkbox', { name: 'Private' }).check();
      await form.getByRole('button', { name: 'Publish' }).click();
      const outcome = page.getByTestId('publish-outcome');
      await outcome.filter({ hasText: 'Published' }).waitFor({ timeout: 10_000 });
      const id = (await outcome.locator('code').textContent()) ?? '';
      assert.ok(id.length > 0);
      await page.getByTestId('tail-list').locator(`[title="${id}"]`).waitFor({ timeout: 10_000 });
      await page.getByTestId('tail-list').getByText('{"from":"form"}').waitFor();
    } finally {
      await page.close();
    }
  });

  test('a selector the hub refuses is reported and the previous one stays live', async () => {
    const page = await browser.newPage();
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      const tail = page.getByTestId('tail');
      await tail.getByLabel('Topic selector').fill('/books/{id');
      await tail.getByRole('button', { name: 'Apply' }).click();
      await tail.getByRole('alert').filter({ hasText: 'refused' }).waitFor({ timeout: 10_000 });
      await waitLive(page);
      assert.equal(await tail.getByLabel('Topic selector').inputValue(), '*');
      const id = await publish(hub, '/books/3', '"still live"');
      await tail.locator(`[title="${id}"]`).waitFor({ timeout: 10_000 });
    } finally {
      await page.close();
    }
  });

  test('a phone-sized dark page lays out in one column', async () => {
    const page = await browser.newPage({
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
      deviceScaleFactor: 2,
    });
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      const toggle = page.getByRole('button', { name: /^Theme:/ });
      await toggle.click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
      await toggle.click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await page.reload();
      await waitLive(page);
      assert.equal(
        await page.evaluate(() => document.documentElement.dataset.theme),
        'dark',
        'the theme choice survives a reload',
      );
      for (let i = 0; i < 3; i += 1) {
        await publish(hub, '/books/4', JSON.stringify({ phone: true, i }), 'book.updated');
        await page.waitForTimeout(1000);
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: `${SHOTS}dashboard-phone-dark.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  test(
    'the dashboard reconnects by itself when the hub restarts',
    { skip: FAKE && 'the fake hub is not restarted on its port' },
    async () => {
      const first = await startHub(false);
      const port = Number(new URL(first.url).port);
      let second: RunningHub | undefined;
      const page = await browser.newPage();
      try {
        await signIn(page, first, first.adminToken);
        await waitLive(page);
        await first.close();
        await page
          .getByTestId('status')
          .filter({ hasText: /Reconnecting|Connecting/ })
          .waitFor({ timeout: 10_000 });
        second = await startHub(false, port);
        await page.getByTestId('status').filter({ hasText: 'Live' }).waitFor({ timeout: 20_000 });
        const id = await publish(second, '/books/after-restart', '"back"');
        await page.getByTestId('tail-list').locator(`[title="${id}"]`).waitFor({ timeout: 10_000 });
        assert.equal(await page.getByTestId('login-token').count(), 0, 'no second login');
        // A reload in the same tab signs in again from sessionStorage.
        await page.reload();
        await waitLive(page);
      } finally {
        await page.close();
        await second?.close();
      }
    },
  );

  test('in dev mode the dashboard opens without a token', async () => {
    const devHub = await startHub(true);
    const page = await browser.newPage();
    try {
      await page.goto(`${devHub.url}/dashboard/`);
      await waitLive(page);
      assert.equal(await page.getByTestId('login-token').count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    } finally {
      await page.close();
      await devHub.close();
    }
  });
});
