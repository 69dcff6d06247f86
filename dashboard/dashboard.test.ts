/**
 * The dashboard in a real headless Chromium against a running hub: login refused and
 * accepted, live counters and tail moving as Node publishes, pause, the publish form, a
 * refused selector, dev mode, and the token never reaching a URL. Screenshots go to
 * test-output/dashboard/.
 *
 *   node --import tsx --test dashboard/dashboard.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { mintToken } from '../src/auth/mint.ts';
import { launchChromium } from '../test/support/browser.ts';
import { TEST_KEY, startTestHub } from '../test/support/hub-fixture.ts';
import { SseConnection } from '../test/support/sse-client.ts';
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

/**
 * Every `.scroller` of the page: whether its content overflows and how wide its scrollbar is
 * (0 for an overlay scrollbar, which hides until one scrolls).
 */
async function scrollers(page: Page): Promise<{ testId: string; overflows: boolean; bar: number }[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.scroller')].map((el) => ({
      testId: el.closest('[data-testid]')?.getAttribute('data-testid') ?? '',
      overflows: el.scrollHeight > el.clientHeight,
      bar: el.offsetWidth - el.clientWidth,
    })),
  );
}

/** The topic names a list shows: the full name, and whether its distinguishing end is in view. */
async function topicNames(
  page: Page,
  within: string,
): Promise<{ topic: string; title: string; tail: string; endShown: boolean }[]> {
  return page.locator(within).evaluate((root) =>
    [...root.querySelectorAll<HTMLElement>('.topic-name')].map((el) => {
      const tail = el.querySelector<HTMLElement>('.topic-tail')!;
      const box = el.getBoundingClientRect();
      const end = tail.getBoundingClientRect();
      return {
        topic: el.dataset.topic ?? '',
        title: el.title,
        tail: tail.textContent ?? '',
        // The end is drawn whole and inside the name's box (the column did not cut it).
        endShown: tail.scrollWidth <= tail.clientWidth + 1 && end.right <= box.right + 1 && end.width > 0,
      };
    }),
  );
}

/**
 * Every list panel keeps a visible scrollbar track (not an overlay one), and the topics panel,
 * holding more rows than its height, overflows into it.
 */
async function assertPanelsScrollVisibly(page: Page, layoutName: string): Promise<void> {
  const found = await scrollers(page);
  assert.ok(found.length >= 4, `${layoutName}: ${JSON.stringify(found)}`);
  for (const s of found) assert.ok(s.bar > 0, `${layoutName}: ${s.testId} has no visible scrollbar`);
  assert.ok(found.find((s) => s.testId === 'topics')?.overflows, `${layoutName}: topics overflow`);
}

/** Splits a shell command as the login screen prints it (single quotes only). */
function shellWords(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
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

  test('the login screen says how to mint an admin token, and that command mints one that signs in', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${hub.url}/dashboard/`);
      const command = (await page.getByTestId('login-hint').locator('pre').textContent()) ?? '';
      assert.match(command, /npx herald token --admin/);
      if (FAKE) return;
      // Run what the page shows, with this hub's secret in place of the placeholder.
      const words = shellWords(command);
      const at = words.indexOf('token');
      assert.ok(at > 0 && words[at - 1] === 'herald', command);
      const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', cli, ...words.slice(at)],
        {
          env: { ...process.env, HERALD_JWT_KEY: SECRET },
          timeout: 30_000,
        },
      );
      await page.getByTestId('login-token').fill(stdout.trim());
      await page.getByRole('button', { name: 'Sign in' }).click();
      await waitLive(page);
    } finally {
      await page.close();
    }
  });

  test(
    'the rate chart shows the last minutes as soon as the page opens',
    { skip: FAKE && 'the fake hub keeps no rate history' },
    async () => {
      // A subscriber of /steady, and a stats watcher that publishes one update per stats tick
      // it sees: after four ticks the hub's rate history holds four samples with traffic.
      const readerToken = await mintToken({
        secret: SECRET,
        subscribe: ['/steady'],
        subject: 'steady-reader',
      });
      const reader = await SseConnection.open(`${hub.url}${HUB_PATH}?topic=/steady`, {
        Authorization: `Bearer ${readerToken}`,
      });
      const watcher = await SseConnection.open(
        `${hub.url}${HUB_PATH}?topic=${encodeURIComponent('/.well-known/herald/stats')}`,
        {
          Authorization: `Bearer ${hub.adminToken}`,
        },
      );
      const page = await browser.newPage();
      try {
        assert.equal(watcher.status, 200);
        const ticks = () => watcher.events.filter((e) => e.event === 'herald.stats').length;
        for (let i = 0; i < 5; i += 1) {
          const seen = ticks();
          await watcher.waitFor(() => ticks() > seen, 'a stats tick');
          await publish(hub, '/steady', '"tick"');
        }
        await reader.waitFor(() => reader.updates.length >= 5, 'the reader got the updates');
        await signIn(page, hub, hub.adminToken);
        // The first points the chart draws: with the hub's history that is minutes of samples at
        // once; without it, one sample (and one more a second).
        const first = await page.waitForFunction(
          () => {
            const chart = document.querySelector<HTMLElement>('[data-testid="rates"] .chart');
            const points = Number(chart?.dataset.points ?? 0);
            return points > 0 ? { points, active: Number(chart?.dataset.activePoints ?? 0) } : null;
          },
          null,
          { timeout: 10_000, polling: 'raf' },
        );
        const { points, active } = (await first.jsonValue())!;
        assert.ok(points >= 5, `the chart opened with ${points} samples`);
        assert.ok(active >= 4, `${active} of them show traffic`);
      } finally {
        reader.close();
        watcher.close();
        await page.close();
      }
    },
  );

  test('an admin token opens the dashboard and the tail and counters follow what Node publishes', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const readerAbort = new AbortController();
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      // The page does not count itself: its own stream is a dashboard, named beside the number.
      if (!FAKE) {
        await page
          .getByTestId('kpi-connections')
          .filter({ hasText: '+1 dashboard' })
          .waitFor({ timeout: 5_000 });
        assert.equal(await kpi(page, 'kpi-connections'), 0, 'no connections but this page');
        assert.equal(await page.getByTestId('connections').getByText('dashboard-test').count(), 0);
      }
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

      for (let i = 0; i < 3; i += 1)
        await publish(hub, '/orders/7', JSON.stringify({ n: i }), 'order.updated');
      if (!FAKE)
        await page
          .getByTestId('rates')
          .locator('h2', { hasText: '(5 s average)' })
          .waitFor({ timeout: 10_000 });

      // A topic nobody subscribes to by name is listed because it is published to, with its
      // rate; only this page's own tail matches it, and the page does not count itself.
      const topics = page.getByTestId('topics');
      const orders = topics.locator('tr', { has: page.locator('[data-topic="/orders/7"]') });
      await orders.waitFor({ timeout: 5_000 });
      await page.waitForFunction(
        () => {
          const row = document
            .querySelector('[data-testid="topics"] [data-topic="/orders/7"]')
            ?.closest('tr');
          return Number(row?.querySelectorAll('td')[2]?.textContent ?? 0) > 0;
        },
        null,
        { timeout: 10_000 },
      );
      const cells = await orders.locator('td').allTextContents();
      if (!FAKE) assert.equal(cells[1], '0', "the dashboard's own tail is not a subscriber of /orders/7");
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
        // `*` is this page's own selector: not listed as the hub's traffic.
        assert.equal(await topics.locator('[data-topic="*"]').count(), 0);
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

  test("the tail names each update's topic and long topics keep their distinguishing end in view", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await signIn(page, hub, hub.adminToken);
      await waitLive(page);
      const base = 'https://example.com/catalogue/very/long/path/to/books';
      const ids = [
        await publish(hub, `${base}/1`, '"one"', 'book.updated'),
        await publish(hub, `${base}/2`, '"two"', 'book.updated'),
      ];
      const tail = page.getByTestId('tail-list');
      for (const id of ids) await tail.locator(`[title="${id}"]`).waitFor({ timeout: 10_000 });
      const inTail = await topicNames(page, '[data-testid="tail-list"]');
      for (const n of ['1', '2']) {
        const row = inTail.find((t) => t.topic === `${base}/${n}`);
        assert.ok(row, `a tail row names ${base}/${n}: ${JSON.stringify(inTail)}`);
        assert.equal(row.title, row.topic, 'the full name on hover');
        assert.ok(row.tail.endsWith(`books/${n}`) && row.endShown, `the end shows: ${JSON.stringify(row)}`);
      }
      // The topics panel, narrower, cuts the middle, not the end.
      await page.getByTestId('topics').locator(`[data-topic="${base}/2"]`).waitFor({ timeout: 10_000 });
      const listed = (await topicNames(page, '[data-testid="topics"]')).filter((t) =>
        t.topic.startsWith(base),
      );
      assert.equal(listed.length, 2);
      for (const t of listed) assert.ok(t.endShown && /books\/\d$/.test(t.tail), JSON.stringify(t));
      await page.screenshot({ path: `${SHOTS}tail-topics.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  for (const colorScheme of ['light', 'dark'] as const)
    test(`panels with more rows than room show a scrollbar (${colorScheme})`, async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme });
      try {
        await signIn(page, hub, hub.adminToken);
        await waitLive(page);
        for (let i = 0; i < 14; i += 1) await publish(hub, `/many/${colorScheme}/${i}`, '"x"');
        await page
          .getByTestId('topics')
          .locator(`[data-topic="/many/${colorScheme}/13"]`)
          .waitFor({ timeout: 10_000 });
        await assertPanelsScrollVisibly(page, colorScheme);
      } finally {
        await page.close();
      }
    });

  test(
    'a WebSocket subscriber shows in the WS count and leaves it when it disconnects',
    { skip: FAKE && "the fake hub's stats do not count WebSocket subscribers" },
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
        const id = await publish(hub, '/books/4', JSON.stringify({ phone: true, i }), 'book.updated');
        await page.getByTestId('tail-list').locator(`[title="${id}"]`).waitFor({ timeout: 10_000 });
      }
      for (let i = 0; i < 14; i += 1) await publish(hub, `/many/phone/${i}`, '"x"');
      await page.getByTestId('topics').locator('[data-topic="/many/phone/13"]').waitFor({ timeout: 10_000 });
      await assertPanelsScrollVisibly(page, 'phone, dark');
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
