import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertFavicon, launchChromium, watchConsole } from '../shared/chromium.ts';
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

/**
 * What the page should show once the worker has checked every URL of `ids`, the URLs of
 * `ids` and `checkedAgain` have been checked `checks[id]` times: each URL counts once, under
 * its latest verdict.
 */
function expected(ids: string[], checks: Record<string, number> = {}) {
  const out = { totalProcessed: 0, indexed: 0, notIndexed: 0, errors: 0 };
  for (const id of ids)
    for (let i = 1; i <= projects[id]!; i++) {
      const v = expectedVerdict(`https://${id}.example/page/${i}`, checks[id] ?? 1);
      out.totalProcessed += 1;
      out[v === 'error' ? 'errors' : v] += 1;
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

/** Waits until the page shows exactly `want` (each subscriber gets the update on its own time). */
const shows = (page: Page, want: ReturnType<typeof expected>) =>
  page.waitForFunction(
    (want) => Object.entries(want).every(([id, n]) => document.getElementById(id)?.textContent === String(n)),
    want,
    { polling: 20 },
  );

const processedIs = (page: Page, n: number) =>
  page.waitForFunction((n) => document.getElementById('totalProcessed')?.textContent === String(n), n, {
    polling: 20,
  });

test('the overview counts up while the worker runs and ends at the numbers for every URL', async () => {
  const page = await browser.newPage();
  const problems = watchConsole(page);
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
  assert.match(
    (await page.locator('#lastCheck').textContent())!,
    /^Last check \d\d:\d\d:\d\d: \w+\.example\/page\/\d+ → /,
  );
  await assertFavicon(page);
  assert.deepEqual(problems, []);
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

test('checking a project again counts each URL once: verdicts move, the number of URLs does not', async () => {
  await app.worker.idle();
  const [overview, blog, docs] = await Promise.all([
    browser.newPage({ viewport: { width: 860, height: 330 } }),
    browser.newPage(),
    browser.newPage(),
  ]);
  const problems = [overview, blog, docs].flatMap((p) => watchConsole(p));
  await overview.goto(app.url);
  await blog.goto(`${app.url}/?projectId=blog`);
  await docs.goto(`${app.url}/?projectId=docs`);
  await Promise.all([processedIs(overview, 80), processedIs(blog, 25), processedIs(docs, 15)]);
  const first = expected(['blog']);
  assert.ok(first.errors > 0 && first.notIndexed > 0, 'the first pass has errors and pages not indexed yet');

  // Pressed twice: the second press finds the URLs still queued and adds none.
  const recheck = blog.getByRole('button', { name: 'Check these URLs again' });
  await recheck.click();
  await recheck.click();
  // The second check clears the quota errors and finds more pages indexed; still 25 URLs.
  const second = expected(['blog'], { blog: 2 });
  await app.worker.idle();
  await shows(blog, second);
  assert.equal(second.totalProcessed, 25);
  await shows(overview, expected(Object.keys(projects), { blog: 2 }));
  assert.deepEqual(await shown(docs), expected(['docs']));
  const queued = await fetch(`${app.url}/api/recheck?projectId=blog`, { method: 'POST' });
  assert.deepEqual(await queued.json(), { queued: 25 });
  await app.worker.idle();
  // A third check finds what the second found: nothing moves. A page opened now gets the
  // hub's numbers after every publish of that pass (the snapshot).
  assert.deepEqual(expected(['blog'], { blog: 3 }), second);
  const late = await browser.newPage();
  const lateProblems = watchConsole(late);
  await late.goto(`${app.url}/?projectId=blog`);
  await processedIs(late, 25);
  assert.deepEqual(await shown(late), second);
  assert.deepEqual(lateProblems, []);
  await late.close();
  await overview.screenshot({ path: screenshotPath(import.meta.url) });
  assert.deepEqual(problems, []);
  await Promise.all([overview.close(), blog.close(), docs.close()]);
});

test('an unknown project is answered with 404 and a reason, not an empty dashboard', async () => {
  const res = await fetch(`${app.url}/?projectId=nope`);
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: 'no project named "nope"' });
  const recheck = await fetch(`${app.url}/api/recheck?projectId=nope`, { method: 'POST' });
  assert.equal(recheck.status, 404);
});
