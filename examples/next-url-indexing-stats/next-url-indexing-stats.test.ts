import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { mintToken } from '../../src/auth/mint.ts';
import { launchChromium } from '../../test/support/browser.ts';
import { freePort, startRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { freshApp, stopProcess, waitForOutput, type FreshApp } from '../../test/package/fresh-app.ts';

const KEY = 'next-example-key-0123456789abcdef012345';
const here = fileURLToPath(new URL('.', import.meta.url));

/** The example as a user copies it: every file here but this test and the README. */
function exampleFiles(dir = here, out: Record<string, string> = {}): Record<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) exampleFiles(path, out);
    else if (!name.endsWith('.test.ts') && name !== 'README.md' && name !== 'package.json')
      out[relative(here, path)] = readFileSync(path, 'utf8');
  }
  return out;
}

describe('the Next.js example (App Router, next build + next start) with Herald from the tarball', () => {
  let app: FreshApp;
  let redis: TestRedis;
  let browser: Browser;
  let port: number;
  let server: ReturnType<FreshApp['start']> | undefined;
  const env = () => ({ HERALD_JWT_KEY: KEY, HERALD_REDIS_URL: redis.url, NEXT_TELEMETRY_DISABLED: '1' });

  async function startNext(): Promise<void> {
    server = app.start('npx', ['next', 'start', '-p', String(port), '-H', '127.0.0.1'], env());
    await waitForOutput(server, /Ready in/);
  }

  before(
    async () => {
      const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      delete pkg.dependencies['herald']; // installed from the tarball instead
      [app, redis, browser, port] = await Promise.all([
        freshApp('next', { packageJson: pkg, files: exampleFiles() }),
        startRedis(),
        launchChromium(),
        freePort(),
      ]);
      await app.run('npx', ['next', 'build'], env());
      await startNext();
    },
    { timeout: 600_000 },
  );
  after(async () => {
    if (server) await stopProcess(server);
    await browser?.close();
    await redis?.stop();
    app?.remove();
  });

  const numbers = (page: Page) =>
    page.evaluate(() =>
      Object.fromEntries(
        ['totalProcessed', 'indexed', 'notIndexed', 'errors'].map((id) => [
          id,
          Number(document.getElementById(id)?.textContent),
        ]),
      ),
    );
  const showsProcessed = (page: Page, n: number) =>
    page.waitForFunction((n) => document.getElementById('totalProcessed')?.textContent === String(n), n, {
      timeout: 30_000,
    });
  // Up to a minute: after a restart the client's backoff may wait up to 30 s between tries.
  const status = (page: Page, s: string) =>
    page.waitForSelector(`[role=status][data-status=${s}]`, { timeout: 60_000 });

  test('the page shows what a worker outside the app publishes, and resumes after a restart', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/?projectId=blog`);
    await status(page, 'connected');
    assert.equal(await page.locator('h1').textContent(), 'URL indexing: blog');

    // The worker: a separate Node process publishing counter increments over HTTP.
    const { stdout } = await app.run(
      process.execPath,
      ['worker.mjs', `http://127.0.0.1:${port}`, 'blog', '12'],
      env(),
    );
    const totals = JSON.parse(stdout) as Record<string, number>;
    assert.equal(totals['totalProcessed'], 12);
    await showsProcessed(page, 12);
    assert.deepEqual(await numbers(page), totals);

    // Restart the server: it ends the page's stream as it stops (see lib/herald.ts), the page
    // reconnects to the new process, gets the numbers again from Redis and keeps following.
    await stopProcess(server!);
    await status(page, 'reconnecting');
    await startNext();
    await status(page, 'connected');
    const token = await mintToken({ secret: KEY, publish: ['https://herald.example/url-stats/{+scope}'] });
    const res = await fetch(`http://127.0.0.1:${port}/api/mercure`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        topic: 'https://herald.example/url-stats/projects/blog',
        patch: '1',
        data: JSON.stringify({ $inc: { totalProcessed: 1, errors: 1 } }),
      }),
    });
    assert.equal(res.status, 200, await res.text());
    await showsProcessed(page, 13);
    assert.deepEqual(await numbers(page), { ...totals, totalProcessed: 13, errors: totals['errors']! + 1 });

    // The overview page: the all-projects topic got the worker's increments too.
    const overview = await browser.newPage();
    await overview.goto(`http://127.0.0.1:${port}/`);
    await showsProcessed(overview, 12);
    assert.equal((await fetch(`http://127.0.0.1:${port}/?projectId=nope`)).status, 404);
  });

  test('the hub refuses what the page token and strangers may not do', async () => {
    const denied = await fetch(`http://127.0.0.1:${port}/api/mercure`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'topic=https://herald.example/url-stats/all&data=x',
    });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('x-herald-error'), 'HERALD_ERR_UNAUTHORIZED');
    const stream = await fetch(
      `http://127.0.0.1:${port}/api/mercure?topic=https://herald.example/url-stats/all`,
    );
    assert.equal(stream.status, 401, 'no anonymous subscribers');
  });
});
