import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { assertFavicon, launchChromium, screenshotPath, watchConsole } from '../shared/chromium.ts';
import { start } from './start.ts';

interface ShownJob {
  id: string;
  status: string;
  summary: string;
  logs: string[];
  errors: string[];
}
interface ApiJob {
  id: string;
  tenant: string;
  status: string;
  summary: { total: number; matched: number; unmatched: number };
  logs: string[];
  errors: string[];
}

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

async function signIn(
  url: string,
  tenant: 'acme' | 'globex',
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 460 } });
  const problems = watchConsole(context);
  const page = await context.newPage();
  await page.goto(url);
  await page.click(`#login button[value=${tenant}]`);
  await page.waitForSelector('#conn.live');
  return { context, page, problems };
}

const shownJobs = (page: Page): Promise<ShownJob[]> =>
  page.$$eval('.job', (cards) =>
    cards.map((c) => ({
      id: (c as HTMLElement).dataset['job']!,
      status: c.querySelector('.status')!.textContent!,
      summary: c.querySelector('.summary')!.textContent!,
      logs: [...c.querySelectorAll('.log li')].map((li) => li.textContent!),
      errors: [...c.querySelectorAll('.errors li')].map((li) => li.textContent!),
    })),
  );

const finished = (page: Page, count: number) =>
  page.waitForFunction(
    (n) => {
      const s = [...document.querySelectorAll('.job .status')].map((e) => e.textContent);
      return s.length === n && s.every((t) => t === 'completed' || t === 'failed');
    },
    count,
    { timeout: 20_000 },
  );

/** The app's own record of a job: exactly what its runner has published. */
async function apiJob(
  page: Page,
  id: string,
): Promise<{ status: number; body: { jobs?: ApiJob[]; error?: string } }> {
  return page.evaluate(async (jobId) => {
    const res = await fetch(`/api/jobs/${jobId}`);
    return { status: res.status, body: await res.json() };
  }, id);
}

function assertShowsWhatWasPublished(shown: ShownJob, job: ApiJob): void {
  assert.equal(shown.status, job.status);
  assert.equal(
    shown.summary,
    `${job.summary.matched} of ${job.summary.total} rows matched · ${job.summary.unmatched} unmatched`,
  );
  assert.deepEqual(shown.logs, job.logs);
  assert.deepEqual(shown.errors, job.errors);
}

test('a signed-out visitor sees only the sign-in, and nothing in the console', async () => {
  const app = await start({ stepMs: 60, batches: 12 });
  const context = await browser.newContext({ viewport: { width: 1100, height: 460 } });
  const problems = watchConsole(context);
  const page = await context.newPage();
  try {
    await page.goto(app.url);
    await page.locator('#login').waitFor();
    assert.deepEqual(await page.locator('#login button').allTextContents(), ['Acme Corp', 'Globex']);
    for (const hidden of ['#conn', '#run', '#signout', '#problem', '.job'])
      assert.equal(await page.locator(hidden).first().isVisible(), false, `${hidden} is visible`);
    const text = await page.locator('body').innerText();
    for (const word of ['connecting', 'Sign out', 'Run a reconciliation'])
      assert.ok(!text.includes(word), `the signed-out page says "${word}"`);
    await assertFavicon(page);
    // Nothing starts before a tenant signs in.
    assert.equal((await context.request.get(`${app.url}/api/jobs`)).status(), 401);

    await page.click('#login button[value=globex]');
    await page.waitForSelector('#conn.live');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#login').waitFor();
    assert.equal(await page.locator('#signout').isVisible(), false);
    assert.equal(await page.locator('#conn').isVisible(), false);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await app.close();
  }
});

test('a tenant sees its jobs at once, live: the first sign-in starts two, and they run while it watches', async () => {
  // About 2 s a job: still running when the page has opened, even on a busy machine.
  const app = await start({ stepMs: 150, batches: 12 });
  const { context, page, problems } = await signIn(app.url, 'acme');
  try {
    // The demo jobs started at this sign-in: the page opens on them running, not finished.
    await page.waitForFunction(() => document.querySelectorAll('.job').length === 2);
    assert.deepEqual(await page.locator('.job .status').allTextContents(), ['running', 'running']);
    await finished(page, 2);
    assert.equal(await page.textContent('#tenant'), '· Acme Corp');
    for (const shown of await shownJobs(page)) {
      const { body } = await apiJob(page, shown.id);
      assertShowsWhatWasPublished(shown, body.jobs![0]!);
      assert.equal(shown.logs.length, 14);
    }
    // job-1002 comes from the messy feed: it fails, and its errors are on the page.
    const failed = (await shownJobs(page)).find((j) => j.id === 'job-1002')!;
    assert.equal(failed.status, 'failed');
    assert.ok(failed.errors.length > 9, `errors shown: ${failed.errors.length}`);

    // A job started from the page appears and runs while the page watches.
    await page.click('#run');
    await page.waitForFunction(() => document.querySelectorAll('[data-job="job-1003"] .log li').length >= 4);
    assert.equal(await page.textContent('[data-job="job-1003"] .status'), 'running');
    await page.screenshot({ path: screenshotPath(import.meta.url) });
    await finished(page, 3);
    const [shown] = (await shownJobs(page)).filter((j) => j.id === 'job-1003');
    assertShowsWhatWasPublished(shown!, (await apiJob(page, 'job-1003')).body.jobs![0]!);
    // Signing in again (another tab, a new session) starts no more demo jobs.
    const again = await signIn(app.url, 'acme');
    assert.equal(await again.page.locator('.job').count(), 3);
    await again.context.close();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await app.close();
  }
});

test('tenant A receives nothing of tenant B, and the app refuses B job ids to A', async () => {
  const app = await start({ stepMs: 10, batches: 4 });
  const a = await signIn(app.url, 'acme');
  const b = await signIn(app.url, 'globex');
  try {
    await finished(a.page, 2);
    await finished(b.page, 2);
    const bJobs = (await shownJobs(b.page)).map((j) => j.id).sort();
    assert.deepEqual(bJobs, ['job-1003', 'job-1004']);
    assert.deepEqual((await shownJobs(a.page)).map((j) => j.id).sort(), ['job-1001', 'job-1002']);

    // Each page points a raw EventSource straight at the hub, at B's job topic, history included.
    const probe = (page: Page) =>
      page.evaluate(async (topic) => {
        const w = window as unknown as { probe: string[] };
        w.probe = [];
        const stream = new URL((await (await fetch('/api/jobs')).json()).stream);
        stream.search = new URLSearchParams({ topic, lastEventID: 'earliest' }).toString();
        const es = new EventSource(stream, { withCredentials: true });
        for (const t of ['status', 'summary', 'log', 'job_error', 'message'])
          es.addEventListener(t, (e) => w.probe.push((e as MessageEvent).data));
        await new Promise((resolve) => (es.onopen = resolve));
      }, 'https://recon.example/tenants/globex/jobs/{job}');
    await probe(a.page);
    await probe(b.page);
    // B starts a job; B's page and B's probe see it to the end.
    await b.page.click('#run');
    await finished(b.page, 3);
    const bCount = await b.page.evaluate(() => (window as unknown as { probe: string[] }).probe.length);
    const total = (await apiJob(b.page, 'job-1005')).body.jobs![0]!;
    assert.ok(bCount > total.logs.length, `B's own probe saw ${bCount} events`);

    assert.deepEqual(await a.page.evaluate(() => (window as unknown as { probe: string[] }).probe), []);
    assert.deepEqual((await shownJobs(a.page)).map((j) => j.id).sort(), ['job-1001', 'job-1002']);

    assert.deepEqual(await apiJob(a.page, 'job-1005'), {
      status: 403,
      body: { error: 'job job-1005 belongs to another tenant' },
    });
    assert.deepEqual(await apiJob(a.page, 'job-1;drop'), {
      status: 400,
      body: { error: 'invalid job id "job-1;drop": expected job-<number>' },
    });
    assert.equal((await apiJob(a.page, 'job-999999')).status, 404);
    const refused = await a.page.evaluate(async () => {
      const login = await fetch('/login', {
        method: 'POST',
        body: new URLSearchParams({ tenant: 'initech' }),
      });
      const longName = await fetch('/api/jobs', {
        method: 'POST',
        body: new URLSearchParams({ name: 'x'.repeat(81) }),
      });
      return [login.status, (await login.json()).error, longName.status, (await longName.json()).error];
    });
    assert.deepEqual(refused, [400, 'unknown tenant "initech"', 400, 'job name longer than 80 characters']);
    // The single-job view says why, instead of showing an empty card.
    await a.page.goto(`${app.url}/?job=job-1003`);
    await a.page.waitForSelector('#problem:not([hidden])');
    assert.equal(await a.page.textContent('#problem'), 'job job-1003 belongs to another tenant');
    assert.equal(await a.page.locator('.job').count(), 0);
    // Without a session the API answers 401 and the page offers to sign in.
    const anonymous = await browser.newPage();
    await anonymous.goto(app.url);
    await anonymous.waitForSelector('#login:not([hidden])');
    assert.equal((await apiJob(anonymous, 'job-1001')).status, 401);
    await anonymous.close();
  } finally {
    await a.context.close();
    await b.context.close();
    await app.close();
  }
});

test('reloading the page mid-run loses no log line and repeats none', async () => {
  const app = await start({ stepMs: 40, batches: 40, demoJobs: false });
  const { context, page } = await signIn(app.url, 'acme');
  const logsNow = async () => {
    const body = (await (await context.request.get(`${app.url}/api/jobs/job-1001`)).json()) as {
      jobs: ApiJob[];
    };
    return body.jobs[0]!;
  };
  try {
    await page.click('#run');
    await page.waitForFunction(() => document.querySelectorAll('.job .log li').length >= 5);
    // Hold the reloaded page's subscription back until three more lines are out, so they fall
    // between the snapshot the page renders and the moment its stream opens.
    let releasedWhile = '';
    await context.route('**/.well-known/mercure?**', async (route) => {
      const target = (await logsNow()).logs.length + 3;
      for (let i = 0; i < 400 && (await logsNow()).logs.length < target; i++) await sleep(10);
      releasedWhile = (await logsNow()).status;
      await route.continue();
    });
    await page.reload();
    await page.waitForSelector('#conn.live');
    assert.equal(releasedWhile, 'running');
    await finished(page, 1);
    const [shown] = await shownJobs(page);
    const job = await logsNow();
    assert.equal(job.logs.length, 42);
    assertShowsWhatWasPublished(shown!, job);
  } finally {
    await context.close();
    await app.close();
  }
});
