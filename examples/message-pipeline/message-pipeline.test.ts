import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertFavicon, launchChromium, watchConsole } from '../shared/chromium.ts';
import { PENDING, PROCESSING } from './queue.ts';
import { start } from './start.ts';
import { screenshotPath } from '../../test/support/browser.ts';

let app: Awaited<ReturnType<typeof start>>;
let browser: Browser;
let page: Page;
let sent = 0;
let problems: string[];

before(async () => {
  [app, browser] = await Promise.all([start({ port: 0, quiet: true }), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1000, height: 520 } });
  problems = watchConsole(page);
  await page.goto(app.url);
});
after(async () => {
  await browser?.close();
  await app?.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const storedRows = async () => Number((await app.db.query('SELECT count(*) FROM messages')).rows[0].count);

/** Waits until the dashboard says `n` messages are stored. */
const dashboardShows = (n: number) =>
  page.waitForFunction((n) => document.getElementById('totalMessages')?.textContent === String(n), n, {
    polling: 50,
    timeout: 30_000,
  });

/** Waits for the worker to print a line matching `pattern`. */
function workerSays(pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const onLine = (line: string) => {
      if (!pattern.test(line)) return;
      app.workerLog.off('line', onLine);
      resolve(line);
    };
    app.workerLog.on('line', onLine);
  });
}

async function replaceWorker(env: Record<string, string>, signal: NodeJS.Signals = 'SIGTERM') {
  const old = app.worker!;
  const exited = once(old, 'exit');
  old.kill(signal);
  await exited;
  return app.startWorker(env);
}

test('the dashboard connects over WebSocket and refuses nothing good, queues nothing bad', async () => {
  await page.locator('#connection.connected').waitFor();
  const bad: [unknown, string][] = [
    [{ user_id: 'x', channel_id: 1, content: 'hi' }, 'user_id must be a positive integer'],
    [{ user_id: 1, content: 'hi' }, 'channel_id must be a positive integer'],
    [{ user_id: 1, channel_id: 1, content: '   ' }, 'content must be 1 to 2000 characters'],
    [{ user_id: 1, channel_id: 1, content: 'x'.repeat(2001) }, 'content must be 1 to 2000 characters'],
    ['{"user_id":', 'body is not valid JSON'],
  ];
  for (const [body, error] of bad) {
    const res = await post('/messages', body);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error });
  }
  assert.equal((await post('/api/load', { count: 0 })).status, 400);
  assert.equal((await post('/api/load', { count: 5001 })).status, 400);
  assert.equal(await app.redis.llen(PENDING), 0);

  const ok = await post('/messages', { user_id: 7, channel_id: 2, content: 'hello' });
  assert.equal(ok.status, 202);
  const { id } = (await ok.json()) as { id: string };
  sent += 1;
  await dashboardShows(sent);
  const row = await app.db.query('SELECT user_id, channel_id, content FROM messages WHERE id = $1', [id]);
  assert.deepEqual(row.rows, [{ user_id: 7, channel_id: 2, content: 'hello' }]);
});

test('the load button sends a burst; the page shows the queue fill and drain, batches of 50 and throughput on labelled axes', async () => {
  await page.getByRole('button', { name: 'Send 2000 messages' }).click();
  sent += 2000;
  // The app publishes the queue depth as it enqueues, so the gauge shows the burst at once,
  // before the worker has drained it; the peak of the last minute stays on the page.
  await page.waitForFunction(() => Number(document.getElementById('queueDepth')?.textContent) >= 1000);
  await page.waitForFunction(() => Number(document.getElementById('ratePerSecond')?.textContent) > 0);
  await dashboardShows(sent);
  await page.waitForFunction(() => document.getElementById('queueDepth')?.textContent === '0');
  assert.ok(Number(await page.locator('#queuePeak').textContent()) >= 1000, 'the peak shows the burst');
  assert.equal(await storedRows(), sent);
  assert.equal(await page.locator('#totalBatches').textContent(), String(1 + 2000 / 50));
  // The chart: a title above it, time along the bottom, messages/s up the side with values
  // from 0 to at least the highest rate drawn.
  await page.waitForFunction(
    () => (document.querySelector('#chart .line')?.getAttribute('points') ?? '').split(' ').length >= 4,
  );
  assert.equal(await page.locator('.panel h2').first().textContent(), 'Throughput (messages/s), last 60 s');
  assert.deepEqual(await page.locator('#chart .x text').allTextContents(), [
    '−60 s',
    '−45 s',
    '−30 s',
    '−15 s',
    'now',
  ]);
  const yLabels = (await page.locator('#chart .y text').allTextContents()).map((t) =>
    Number(t.replace(/,/g, '')),
  );
  assert.equal(yLabels.length, 3);
  assert.equal(yLabels[0], 0);
  assert.ok(yLabels[2]! > 0, `axis ${yLabels}`);
  // The axis reaches at least the highest rate drawn: every point of the line lies inside the
  // plot area (y from 8 to 140 in the chart's box; the page redraws the axis and the line in
  // the same tick, so this holds whenever it is read).
  const ys = ((await page.locator('#chart .line').getAttribute('points')) ?? '')
    .split(' ')
    .map((p) => Number(p.split(',')[1]));
  assert.ok(ys.length >= 4 && ys.every((v) => v >= 8 && v <= 140), `line ${ys.join(' ')} inside the plot`);
  await assertFavicon(page);
  assert.deepEqual(problems, []);
  await page.mouse.move(0, 0); // no button in its hover colour on the picture
  await page.screenshot({ path: screenshotPath(import.meta.url) });
});

test('a worker killed before its batch commits loses nothing: the next worker inserts the batch', async () => {
  await replaceWorker({ SLOW_INSERT_MS: '2500' });
  const inserting = workerSays(/^inserting batch of 50$/);
  await post('/api/load', { count: 1200 });
  sent += 1200;
  await inserting;
  // While the database is slow the queue backs up, and the gauge shows it.
  await page.waitForFunction(() => Number(document.getElementById('queueDepth')?.textContent) >= 1000);
  app.worker!.kill('SIGKILL');
  await once(app.worker!, 'exit');
  assert.equal(await app.redis.llen(PROCESSING), 50, 'the interrupted batch waits in the processing list');
  assert.ok((await storedRows()) < sent);

  const recovering = workerSays(/^recovering 50 messages/);
  app.startWorker();
  await recovering;
  await dashboardShows(sent);
  assert.equal(await storedRows(), sent);
  assert.equal(await app.redis.llen(PROCESSING), 0);
});

test('a worker killed after commit but before it drops the batch stores nothing twice', async () => {
  await replaceWorker({ SLOW_ACK_MS: '1500' });
  const committed = workerSays(/^committed batch of 50 \(50 new\)$/);
  await post('/api/load', { count: 100 });
  sent += 100;
  await committed;
  app.worker!.kill('SIGKILL');
  await once(app.worker!, 'exit');
  assert.equal(await app.redis.llen(PROCESSING), 50, 'the stored batch is still in the processing list');

  const replayed = workerSays(/^committed batch of 50 \(0 new\)$/);
  app.startWorker();
  await replayed;
  await dashboardShows(sent);
  assert.equal(await storedRows(), sent);
  const totals = await app.db.query('SELECT total_messages FROM pipeline_totals');
  assert.equal(Number(totals.rows[0].total_messages), sent, 'the totals count each message once');
});

test('a dashboard opened while no worker runs still shows the current numbers (the snapshot)', async () => {
  const old = app.worker!;
  const exited = once(old, 'exit');
  old.kill('SIGTERM');
  await exited;
  // Nothing publishes now: only the hub's retained state can fill this page.
  const late = await browser.newPage();
  await late.goto(app.url);
  await late.waitForFunction(
    (n) => document.getElementById('totalMessages')?.textContent === String(n),
    sent,
    {
      polling: 50,
    },
  );
  assert.equal(await late.locator('#queueDepth').textContent(), '0');
  await late.close();
  app.startWorker();
});
