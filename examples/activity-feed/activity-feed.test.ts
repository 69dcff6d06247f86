import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { assertFavicon, launchChromium, screenshotPath, watchConsole } from '../shared/chromium.ts';
import { start } from './start.ts';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser.close());

type User = 'alice' | 'bob' | 'carol';

/** A browser profile signed in as `user`, with `tabs` pages open on the feed. */
async function signIn(
  url: string,
  user: User,
  tabs = 1,
): Promise<{ context: BrowserContext; pages: Page[]; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 440 } });
  const problems = watchConsole(context);
  const first = await context.newPage();
  await first.goto(url);
  await first.click(`#login button[value=${user}]`);
  await first.waitForSelector('#conn.live');
  const pages = [first];
  for (let i = 1; i < tabs; i++) {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('#conn.live');
    pages.push(page);
  }
  return { context, pages, problems };
}

const onlineShown = (page: Page, expected: string[]) =>
  page.waitForFunction(
    (want) => [...document.querySelectorAll('#online li')].map((li) => li.textContent).join(', ') === want,
    expected.join(', '),
  );
const notices = (page: Page) => page.$$eval('#notices li', (lis) => lis.map((li) => li.textContent));

async function report(page: Page, title: string, location: string): Promise<void> {
  await page.fill('#report [name=title]', title);
  await page.fill('#report [name=location]', location);
  await page.click('#report button');
}
const card = (id: string) => `.activity[data-id="${id}"]`;

test('a signed-out visitor sees only the sign-in, and nothing in the console', async () => {
  const app = await start();
  const context = await browser.newContext({ viewport: { width: 1000, height: 440 } });
  const problems = watchConsole(context);
  const page = await context.newPage();
  try {
    await page.goto(app.url);
    await page.locator('#login').waitFor();
    assert.deepEqual(await page.locator('#login button').allTextContents(), ['Alice', 'Bob', 'Carol']);
    // Nothing of the app behind it: no report form, no "For you", no badge, no Sign out.
    for (const hidden of ['#app', '#report', '#notices', '#conn', '#me', '#signout'])
      assert.equal(await page.locator(hidden).isVisible(), false, `${hidden} is visible`);
    const text = await page.locator('body').innerText();
    for (const word of ['Report', 'For you', 'connecting', 'Sign out'])
      assert.ok(!text.includes(word), `the signed-out page says "${word}"`);
    await assertFavicon(page);

    // Signing in shows the app; signing out brings back the sign-in alone.
    await page.click('#login button[value=carol]');
    await page.waitForSelector('#conn.live');
    assert.equal(await page.textContent('#me'), 'Signed in as Carol');
    assert.equal(await page.locator('#report').isVisible(), true);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#login').waitFor();
    assert.equal(await page.locator('#app').isVisible(), false);
    assert.equal(await page.locator('#signout').isVisible(), false);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await app.close();
  }
});

test('the feed updates in every open tab, and presence shows who is online', async () => {
  const app = await start();
  const alice = await signIn(app.url, 'alice', 2);
  const bob = await signIn(app.url, 'bob');
  const [tab1, tab2] = alice.pages as [Page, Page];
  const [bobPage] = bob.pages as [Page];
  try {
    for (const page of [tab1, tab2, bobPage]) await onlineShown(page, ['Alice (2 tabs)', 'Bob']);

    await report(tab1, 'Water leak', 'Building B, floor 2');
    for (const page of [tab1, tab2, bobPage]) {
      await page.waitForSelector(`${card('a-1')} .title:text("Water leak")`);
      assert.equal(await page.textContent(`${card('a-1')} .meta`), 'Building B, floor 2 · reported by Alice');
    }
    await report(bobPage, 'Broken badge reader', 'Main entrance');
    await bobPage.selectOption(`${card('a-1')} .status`, 'in progress');
    await bobPage.selectOption(`${card('a-1')} .assignee`, 'alice');
    for (const page of [tab1, tab2]) {
      // Bob's two changes are two requests in flight at once: wait until both have arrived.
      await page.waitForFunction(
        (sel) =>
          (document.querySelector(`${sel} .assignee`) as HTMLSelectElement).value === 'alice' &&
          (document.querySelector(`${sel} .status`) as HTMLSelectElement).value === 'in progress',
        card('a-1'),
      );
      assert.equal(await page.inputValue(`${card('a-1')} .status`), 'in progress');
      assert.equal(await page.textContent(`${card('a-2')} .title`), 'Broken badge reader');
      await page.waitForSelector('#notices li');
      assert.deepEqual(await notices(page), ['Bob assigned you “Water leak”']);
    }
    assert.deepEqual(await tab1.$$eval('.activity .title', (t) => t.map((e) => e.textContent)), [
      'Broken badge reader',
      'Water leak',
    ]);
    await tab1.screenshot({ path: screenshotPath(import.meta.url) });
    assert.deepEqual([...alice.problems, ...bob.problems], []);

    // Leaving is seen too: the hub announces the end of each subscription.
    await bob.context.close();
    await onlineShown(tab1, ['Alice (2 tabs)']);
    await tab2.close();
    await onlineShown(tab1, ['Alice']);
  } finally {
    await alice.context.close();
    await bob.context.close();
    await app.close();
  }
});

test('an assignment notice reaches the assignee (and the previous one) and nobody else', async () => {
  const app = await start();
  const [alice, bob, carol] = await Promise.all([
    signIn(app.url, 'alice'),
    signIn(app.url, 'bob'),
    signIn(app.url, 'carol'),
  ]);
  const [a, b, c] = [alice.pages[0]!, bob.pages[0]!, carol.pages[0]!];
  try {
    // Carol and Bob each point a raw EventSource at Bob's notice topic, history included.
    const probe = (page: Page) =>
      page.evaluate(async () => {
        const w = window as unknown as { probe: string[] };
        w.probe = [];
        const stream = new URL((await (await fetch('/api/feed')).json()).stream);
        stream.search = new URLSearchParams({
          topic: 'https://feed.example/users/bob/assignments',
          lastEventID: 'earliest',
        }).toString();
        const es = new EventSource(stream, { withCredentials: true });
        es.addEventListener('assignment_changed', (e) => w.probe.push(e.data));
        await new Promise((resolve) => (es.onopen = resolve));
      });
    await probe(b);
    await probe(c);

    await report(a, 'Printer jam', 'Office 3');
    await c.waitForSelector(card('a-1'));
    await a.selectOption(`${card('a-1')} .assignee`, 'bob');
    await b.waitForSelector('#notices li');
    assert.deepEqual(await notices(b), ['Alice assigned you “Printer jam”']);

    // A later public update reaching Alice and Carol proves the notice would have arrived by now.
    await report(a, 'Coffee machine empty', 'Kitchen');
    await a.waitForSelector(card('a-2'));
    await c.waitForSelector(card('a-2'));
    assert.deepEqual(await notices(a), []);
    assert.deepEqual(await notices(c), []);
    const probed = (page: Page) =>
      page.evaluate(() => (window as unknown as { probe: string[] }).probe.length);
    await b.waitForFunction(() => (window as unknown as { probe: string[] }).probe.length === 1);
    assert.equal(await probed(c), 0);

    await b.selectOption(`${card('a-1')} .assignee`, 'carol');
    await c.waitForSelector('#notices li');
    assert.deepEqual(await notices(c), ['Bob assigned you “Printer jam”']);
    await b.waitForFunction(() => document.querySelectorAll('#notices li').length === 2);
    assert.deepEqual(await notices(b), [
      'Bob reassigned “Printer jam” to Carol',
      'Alice assigned you “Printer jam”',
    ]);
    await a.waitForFunction(
      (sel) => (document.querySelector(`${sel} .assignee`) as HTMLSelectElement).value === 'carol',
      card('a-1'),
    );
    assert.deepEqual(await notices(a), []);
    assert.equal(await probed(c), 0);
  } finally {
    await Promise.all([alice.context.close(), bob.context.close(), carol.context.close()]);
    await app.close();
  }
});

test('bad requests get a status and a reason; the hub refuses a page without a token', async () => {
  const app = await start();
  const alice = await signIn(app.url, 'alice');
  const page = alice.pages[0]!;
  try {
    const post = async (path: string, form: Record<string, string>) => {
      const res = await alice.context.request.post(`${app.url}${path}`, { form });
      return [res.status(), ((await res.json()) as { error?: string }).error ?? 'ok'];
    };
    const answers = [
      await post('/login', { user: 'mallory' }),
      await post('/api/activities', { title: ' ' }),
      await post('/api/activities', { title: 'x'.repeat(81) }),
      await post('/api/activities', { title: 'Fine', location: 'Lobby' }),
      await post('/api/activities/a-1', { status: 'lost' }),
      await post('/api/activities/a-1', { assignedTo: 'mallory' }),
      await post('/api/activities/a-1', {}),
      await post('/api/activities/a-99', { status: 'done' }),
      await post('/api/activities/a-1%3Bdrop', { status: 'done' }),
    ];
    assert.deepEqual(answers, [
      [400, 'unknown user "mallory"'],
      [400, 'title must be 1 to 80 characters'],
      [400, 'title must be 1 to 80 characters'],
      [201, 'ok'],
      [400, 'status must be one of: open, in progress, done'],
      [400, 'unknown assignee "mallory"'],
      [400, 'nothing to change: send status and/or assignedTo'],
      [404, 'no activity a-99'],
      [400, 'invalid activity id "a-1%3Bdrop": expected a-<number>'],
    ]);
    const stream = await page.evaluate(
      async () => (await (await fetch('/api/feed')).json()).stream as string,
    );
    const anonymous = await browser.newPage();
    assert.equal(
      (await anonymous.request.post(`${app.url}/api/activities`, { form: { title: 'x' } })).status(),
      401,
    );
    assert.equal((await anonymous.request.get(stream)).status(), 401);
    await anonymous.goto(app.url);
    await anonymous.waitForSelector('#login:not([hidden])');
    await anonymous.close();
  } finally {
    await alice.context.close();
    await app.close();
  }
});
