import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertFavicon, launchChromium, watchConsole } from '../shared/chromium.ts';
import { start } from './start.ts';
import { screenshotPath } from '../../test/support/browser.ts';

let app: Awaited<ReturnType<typeof start>>;
let browser: Browser;
let page: Page;
let problems: string[];

before(async () => {
  [app, browser] = await Promise.all([start({ port: 0, stepMs: 40 }), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  problems = watchConsole(page);
});
after(async () => {
  await browser?.close();
  await app?.close();
});

const cell = (service: string, column: number) => page.locator(`#row-${service} td:nth-child(${column})`);
const waitForProcessed = (n: number) =>
  page.waitForFunction(
    (n) => document.querySelector('#row-balance-sync td:nth-child(4)')?.textContent === String(n),
    n,
    { polling: 20 },
  );
const processed = async (service: string) => Number(await cell(service, 4).textContent());

test('the monitor connects, fills the table with every service and shows the log so far', async () => {
  await page.goto(app.url);
  await page.locator('#connection.connected').waitFor();
  assert.equal(await page.locator('#connection').textContent(), 'Connected');
  for (const service of ['balance-sync', 'account-discovery', 'account-enrichment'])
    await page.locator(`#row-${service}`).waitFor();
  // The first balance sync started before the page opened: the hub replays it.
  await page.locator('#log li', { hasText: '[balance-sync] schedule run started' }).first().waitFor();
  await page.locator('#history li', { hasText: 'balance-sync' }).first().waitFor();
});

test('the sync button starts a balance sync and the page shows it run and finish', async () => {
  await app.services['balance-sync'].idle();
  const before = await processed('balance-sync');
  await page.getByRole('button', { name: 'Run balance sync now' }).click();
  await page.locator('#log li', { hasText: '[balance-sync] manual run started, 5 queued' }).waitFor();
  await page
    .locator('#log li', { hasText: '[balance-sync] manual run finished: 5 done, 0 failed' })
    .waitFor();
  await waitForProcessed(before + 5);
  assert.equal(await cell('balance-sync', 2).textContent(), 'idle');
  await page.locator('#history li', { hasText: 'balance-sync: running → idle' }).first().waitFor();
  await assertFavicon(page);
  // Nothing in the console so far (the hub restart below makes the browser log a lost connection).
  assert.deepEqual(problems, []);
});

test('when the hub restarts the indicator goes red, then green, and the page catches up with nothing lost', async () => {
  await app.services['balance-sync'].idle();
  const before = await processed('balance-sync');
  await app.stopHub();
  await page.locator('#connection:not(.connected)').waitFor();
  assert.equal(await page.locator('#connection').textContent(), 'Disconnected');

  await app.startHub();
  // A sync runs before the page is back (the browser waits ~2 s, as the hub told it to).
  await app.services['balance-sync'].run('manual');
  await page.locator('#connection.connected').waitFor({ timeout: 15_000 });
  // The page resumed from its last event id, which the hub found in Redis: the run it missed
  // while reconnecting is replayed, and there was no gap to warn about.
  await waitForProcessed(before + 5);
  assert.equal(await page.locator('#log li.warn', { hasText: 'hub restarted' }).count(), 0);

  await page.getByRole('button', { name: 'Run balance sync now' }).click();
  await waitForProcessed(before + 10);
  // The only thing the console shows is the browser failing to reach the hub while it was down.
  assert.ok(
    problems.every((p) => /ERR_CONNECTION_REFUSED/.test(p)),
    `console problems:\n${problems.join('\n')}`,
  );
  await page.screenshot({
    animations: 'disabled',
    path: screenshotPath(import.meta.url),
  });
});

test('triggering a service that does not exist is refused with 404 and a reason', async () => {
  const res = await fetch(`${app.url}/api/services/nope/run`, { method: 'POST' });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: 'no service named "nope"' });
  const proto = await fetch(`${app.url}/api/services/__proto__/run`, { method: 'POST' });
  assert.equal(proto.status, 404);
  const get = await fetch(`${app.url}/api/services/balance-sync/run`);
  assert.equal(get.status, 404);
});
