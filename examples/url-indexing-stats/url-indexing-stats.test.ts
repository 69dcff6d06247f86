import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../shared/chromium.ts';
import { expectedVerdict } from './index-checker.ts';
import { projects, start } from './start.ts';
import { screenshotPath } from '../../test/support/browser.ts';

let app: Awaited<ReturnType<typeof start>>;
let browser: Browser;

before(async () => {
  [app, browser] = await Promise.all([start({ port: 0, delayMs: 15 }), launchChromium()]);
});
after(async () => {
  await browser?.close();
  await app?.close();
});

/** What the page should show once the worker has checked every URL of `ids` `passes` times. */
function expected(ids: string[], passes = 1) {
  const out = { totalProcessed: 0, indexed: 0, notIndexed: 0, errors: 0 };
  for (const id of ids)
    for (let i = 1; i <= projects[id]!; i++) {
      const v = expectedVerdict(`https://${id}.example/page/${i}`);
      out.totalProcessed += passes;
      out[v === 'error' ? 'errors' : v] += passes;
    }
  return out;
}

async function shown(page: Page) {
  const read = async (id: string) => Number(await page.locator(`#${id}`).textContent());
  return {
    totalProcessed: await read('totalProcessed'),
    indexed: await read('indexed'),
    notIndexed: await read('notIndexed'),
    errors: await read('errors'),
  };
}

const processedIs = (page: Page, n: number) =>
  page.waitForFunction((n) => document.getElementById('totalProcessed')?.textContent === String(n), n, {
    polling: 20,
  });

test('the overview counts up while the worker runs and ends at the numbers for every URL', async () => {
  const page = await browser.newPage();
  await page.goto(app.url);
  await page.locator('#status.live').waitFor();
  // A number strictly between 0 and the end proves the page moves with the worker.
  await page.waitForFunction(
    () => {
      const n = Number(document.getElementById('totalProcessed')?.textContent);
      return n > 0 && n < 80;
    },
    undefined,
    { polling: 20 },
  );
  await processedIs(page, 80);
  assert.deepEqual(await shown(page), expected(Object.keys(projects)));
  await page.close();
});

test('a project page shows that project only, with its numbers as soon as it connects', async () => {
  await app.worker.idle();
  const page = await browser.newPage();
  await page.goto(`${app.url}/?projectId=blog`);
  assert.equal(await page.locator('h1').textContent(), 'URL indexing — blog');
  await processedIs(page, 25);
  assert.deepEqual(await shown(page), expected(['blog']));
  await page.close();
});

test('checking a project again moves that project and the overview, not the other projects', async () => {
  await app.worker.idle();
  const [overview, blog, docs] = await Promise.all([
    browser.newPage({ viewport: { width: 860, height: 330 } }),
    browser.newPage(),
    browser.newPage(),
  ]);
  await overview.goto(app.url);
  await blog.goto(`${app.url}/?projectId=blog`);
  await docs.goto(`${app.url}/?projectId=docs`);
  await Promise.all([processedIs(overview, 80), processedIs(blog, 25), processedIs(docs, 15)]);

  await blog.getByRole('button', { name: 'Check these URLs again' }).click();
  await Promise.all([processedIs(blog, 50), processedIs(overview, 105)]);
  assert.deepEqual(await shown(blog), expected(['blog'], 2));
  assert.deepEqual(await shown(docs), expected(['docs']));
  await overview.screenshot({ path: screenshotPath(import.meta.url) });
  await Promise.all([overview.close(), blog.close(), docs.close()]);
});

test('an unknown project is answered with 404 and a reason, not an empty dashboard', async () => {
  const res = await fetch(`${app.url}/?projectId=nope`);
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: 'no project named "nope"' });
  const recheck = await fetch(`${app.url}/api/recheck?projectId=nope`, { method: 'POST' });
  assert.equal(recheck.status, 404);
});
