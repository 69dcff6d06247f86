import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SNAPSHOT_MATCH_STEPS } from '../../src/hub/state-view.ts';
import { INDEX_STEPS_PER_WEIGHT } from '../../src/hub/topic-index.ts';
import { MATCH_STEPS_PER_WEIGHT } from '../../src/protocol/matcher.ts';
import type { RunningHerald } from '../../src/start.ts';
import { hubUrl, publishJson, publisherToken, startTestHub } from '../support/hub-fixture.ts';
import { publishForm, SseClient } from '../support/raw-http.ts';
import { eventually } from '../support/wait.ts';
import { WsProbe, type Msg } from '../support/ws-probe.ts';

// Issue 15, item 1: URI-template selectors cost memory and CPU in proportion to their
// literal length, with no budget. These replay the attacks of the issue over real sockets.

/** One `{+x}` expression followed by ~2 000 literal characters, distinct per `i`. */
const longTemplate = (i: number, name = 'x'): string =>
  `https://evil.example/{+${name}}/${String(i).padStart(6, '0')}${'L'.repeat(2000)}`;

/**
 * A template of 16 expressions separated by one or two `x` (distinct per `i`): it matches
 * almost any run of `x`, so every topic made of them keeps its matcher busy to the end.
 */
function broadTemplate(i: number, last = '{p}'): string {
  let t = '';
  for (let j = 0; j < 15; j++) t += `{+v${j}}${'x'.repeat(1 + ((i >> j) & 1))}`;
  return t + last;
}

function wsUrl(h: RunningHerald): string {
  return `${h.url.replace('http', 'ws')}${h.config.path}/ws`;
}

async function wsSubscribe(h: RunningHerald, topics: string[]): Promise<{ ws: WsProbe; reply: Msg }> {
  const ws = new WsProbe(wsUrl(h));
  await ws.opened;
  ws.send({ op: 'subscribe', topics, ref: 1 });
  const reply = await ws.next((m) => m['op'] === 'subscribed' || m['op'] === 'error', 10_000);
  return { ws, reply };
}

function sse(h: RunningHerald, topics: string[]): SseClient {
  const q = topics.map((t) => `topic=${encodeURIComponent(t)}`).join('&');
  return new SseClient(hubUrl(h, `?${q}`));
}

function assertSseRefused(c: SseClient, status: number, code: string, reason: RegExp): void {
  assert.equal(c.status, status);
  assert.equal(c.headers['x-herald-error'], code);
  assert.match(c.body, reason);
  assert.equal(c.body.trim().split('\n').length, 1, 'the reason is one line');
}

describe('URI-template selectors: memory is accounted, linear and shared', () => {
  let h: RunningHerald;
  const open: { close(): unknown }[] = [];
  before(async () => {
    h = await startTestHub({ anonymous: true });
  });
  after(async () => {
    for (const c of open) c.close();
    await h.close();
  });

  test('a WebSocket frame of 100 distinct 2 KB templates costs compiled memory linear in their length', async () => {
    const before = h.hub.templateUsage();
    const templates = Array.from({ length: 100 }, (_, i) => longTemplate(i));
    const { ws, reply } = await wsSubscribe(h, templates);
    open.push(ws);
    assert.equal(reply['op'], 'subscribed', JSON.stringify(reply));
    const usage = h.hub.templateUsage();
    const chars = templates.reduce((n, t) => n + t.length, 0);
    assert.equal(usage.templates - before.templates, 100);
    const bytes = usage.bytes - before.bytes;
    // Literal runs are held as strings: a few bytes per character, not an automaton state each.
    assert.ok(bytes >= chars, `accounted ${bytes} bytes for ${chars} characters`);
    assert.ok(bytes <= 4 * chars + 100 * 512, `accounted ${bytes} bytes for ${chars} characters`);
  });

  test('the same templates on other connections (SSE and WebSocket, any variable names) are compiled once', async () => {
    const before = h.hub.templateUsage();
    const renamed = Array.from({ length: 100 }, (_, i) => longTemplate(i, `other_${i}`));
    const { ws, reply } = await wsSubscribe(h, renamed);
    open.push(ws);
    assert.equal(reply['op'], 'subscribed', JSON.stringify(reply));
    const c = sse(h, [longTemplate(1), longTemplate(2), longTemplate(3, 'y')]);
    open.push(c);
    assert.equal(await c.opened, 200);
    const usage = h.hub.templateUsage();
    assert.equal(usage.templates, before.templates);
    assert.equal(usage.bytes, before.bytes);
  });

  test('match-anything templates of 16 adjacent expressions, distinct by variable names, compile to one', async () => {
    const before = h.hub.templateUsage();
    for (let conn = 0; conn < 20; conn++) {
      const templates = Array.from({ length: 100 }, (_, i) => {
        let t = '';
        for (let j = 0; j < 16; j++) t += `{+c${conn}_${i}_${j}}`;
        return t;
      });
      const { ws, reply } = await wsSubscribe(h, templates);
      open.push(ws);
      assert.equal(reply['op'], 'subscribed', JSON.stringify(reply));
    }
    assert.equal(h.hub.templateUsage().templates - before.templates, 1);
  });

  test('closing the last subscription of a template frees its budget', async () => {
    for (const c of open.splice(0)) c.close();
    await eventually(() => h.hub.connectionCount === 0, 'all subscriptions closed');
    assert.deepEqual(
      { templates: h.hub.templateUsage().templates, bytes: h.hub.templateUsage().bytes },
      { templates: 0, bytes: 0 },
    );
  });
});

describe('URI-template selectors: budgets refuse with a code and a one-line reason', () => {
  let h: RunningHerald;
  const open: { close(): unknown }[] = [];
  before(async () => {
    h = await startTestHub({ anonymous: true, maxTemplates: 103 });
  });
  after(async () => {
    for (const c of open) c.close();
    await h.close();
  });

  test('past the hub-wide count, WebSocket and SSE subscribers get 429 HERALD_ERR_TEMPLATE_BUDGET; exact topics still work', async () => {
    const first = await wsSubscribe(
      h,
      Array.from({ length: 100 }, (_, i) => longTemplate(i)),
    );
    open.push(first.ws);
    assert.equal(first.reply['op'], 'subscribed');
    const second = await wsSubscribe(
      h,
      Array.from({ length: 100 }, (_, i) => longTemplate(1000 + i)),
    );
    open.push(second.ws);
    assert.equal(second.reply['op'], 'error');
    assert.equal(second.reply['code'], 'HERALD_ERR_TEMPLATE_BUDGET');
    assert.match(String(second.reply['message']), /URI templates/);
    assert.equal(h.hub.templateUsage().templates, 100, 'nothing of the refused frame is kept');

    // Every open WebSocket holds a seat (the refused one too); a refused SSE request adds none.
    const seats = h.hub.admittedCount;
    const c = sse(h, Array.from({ length: 6 }, (_, i) => longTemplate(2000 + i)).concat(['urn:x']));
    open.push(c);
    assert.equal(await c.opened, 429);
    assertSseRefused(c, 429, 'HERALD_ERR_TEMPLATE_BUDGET', /URI templates/);
    assert.ok(c.headers['retry-after'], 'Retry-After is set');
    assert.equal(h.hub.admittedCount, seats, 'a refused subscription holds no slot');

    const exact = sse(h, ['urn:still-fine']);
    open.push(exact);
    assert.equal(await exact.opened, 200);

    first.ws.close();
    await eventually(() => h.hub.templateUsage().templates === 0, 'budget released');
    const again = sse(
      h,
      Array.from({ length: 6 }, (_, i) => longTemplate(2000 + i)),
    );
    open.push(again);
    assert.equal(await again.opened, 200);
  });

  test('templates added by a later WebSocket subscribe op count against the same limits, and the connection keeps what it had', async () => {
    const { ws, reply } = await wsSubscribe(h, ['urn:kept', broadTemplate(1)]);
    open.push(ws);
    assert.equal(reply['op'], 'subscribed');
    // 16 expressions already held: 8 more templates of 16 go over the 128 of one subscription.
    ws.send({ op: 'subscribe', topics: Array.from({ length: 8 }, (_, i) => broadTemplate(100 + i)), ref: 2 });
    const refused = await ws.next((m) => m['ref'] === 2);
    assert.equal(refused['op'], 'error');
    assert.equal(refused['code'], 'HERALD_ERR_TOO_MANY_SELECTORS');
    assert.match(String(refused['message']), /at most 128 URI-template expressions per subscription/);
    const filler = await wsSubscribe(
      h,
      Array.from({ length: 90 }, (_, i) => `urn:u/${i}/{x}`),
    );
    open.push(filler.ws);
    assert.equal(filler.reply['op'], 'subscribed');
    const templatesBefore = h.hub.templateUsage().templates;
    // Past the node's count (103 distinct): 429, nothing of the op is kept.
    ws.send({ op: 'subscribe', topics: Array.from({ length: 90 }, (_, i) => `urn:t/${i}/{x}`), ref: 3 });
    const overBudget = await ws.next((m) => m['ref'] === 3);
    assert.equal(overBudget['code'], 'HERALD_ERR_TEMPLATE_BUDGET');
    assert.equal(h.hub.templateUsage().templates, templatesBefore);
    const res = await publishForm(h.url, await publisherToken(), [
      ['topic', 'urn:kept'],
      ['data', 'still here'],
    ]);
    assert.equal(res.status, 200);
    const update = await ws.update();
    assert.equal(update['data'], 'still here');
  });

  test('one subscription may not hold more than its share of template expressions (400 over SSE and WebSocket)', async () => {
    const heavy = Array.from({ length: 40 }, (_, i) => broadTemplate(i));
    const c = sse(h, heavy);
    open.push(c);
    assert.equal(await c.opened, 400);
    assertSseRefused(c, 400, 'HERALD_ERR_TOO_MANY_SELECTORS', /template expressions/);
    const { ws, reply } = await wsSubscribe(h, heavy);
    open.push(ws);
    assert.equal(reply['op'], 'error');
    assert.equal(reply['code'], 'HERALD_ERR_TOO_MANY_SELECTORS');
  });
});

describe('URI-template selectors: matching work per publish is bounded', () => {
  let h: RunningHerald;
  const open: { close(): unknown }[] = [];
  const perTopic = 128;
  before(async () => {
    h = await startTestHub({ anonymous: true, maxExpressionsPerTopic: perTopic });
  });
  after(async () => {
    for (const c of open) c.close();
    await h.close();
  });

  test('many connections of match-anything templates: those past the per-topic budget are refused, and a publish of 32 topics of 2 KB costs at most the documented steps', async () => {
    let refused = 0;
    let admitted = 0;
    for (let conn = 0; conn < 12; conn++) {
      const templates = Array.from({ length: 4 }, (_, i) => broadTemplate(conn * 4 + i));
      const { ws, reply } = await wsSubscribe(h, templates);
      open.push(ws);
      if (reply['op'] === 'subscribed') admitted += templates.length;
      else {
        assert.equal(reply['code'], 'HERALD_ERR_TEMPLATE_BUDGET');
        assert.match(String(reply['message']), /one topic/);
        refused++;
      }
    }
    assert.ok(refused > 0, 'the per-topic budget refused some connections');
    assert.equal(admitted * 16, perTopic, 'templates were admitted up to the budget');

    const reader = sse(h, ['urn:reader']);
    open.push(reader);
    assert.equal(await reader.opened, 200);
    // Each topic keeps every broad template's matcher running to its last character.
    const topics = Array.from({ length: 31 }, (_, i) => `${'x'.repeat(2040)}${String(i).padStart(6, '0')}#`);
    topics.push('urn:reader');
    const before = h.hub.templateUsage().matchSteps;
    const res = await publishForm(h.url, await publisherToken(), [
      ...topics.map((t): [string, string] => ['topic', t]),
      ['data', 'hello'],
    ]);
    assert.equal(res.status, 200, res.text);
    await reader.waitFor((e) => e.data === 'hello', 10_000, 'the update');
    const steps = h.hub.templateUsage().matchSteps - before;
    const bound = topics.reduce((n, t) => n + INDEX_STEPS_PER_WEIGHT * perTopic * (t.length + 1), 0);
    // Every admitted template swept each long topic once per expression at least.
    assert.ok(steps >= perTopic * 31 * 2040, `${steps} steps: the matcher counted its work`);
    assert.ok(steps <= bound, `${steps} matcher steps, documented bound ${bound}`);
  });
});

describe('URI-template selectors: a snapshot scan is bounded', () => {
  let h: RunningHerald;
  before(async () => {
    h = await startTestHub({ anonymous: true });
  });
  after(async () => {
    await h.close();
  });

  test('templates that keep every matcher busy over thousands of retained states get a truncated snapshot within the step budget', async () => {
    const token = await publisherToken();
    // Topics full of `/`, so `{+a}/{+b}/…` runs every pass over each of them.
    const topic = (i: number) => `https://ex.com/${'a/'.repeat(40)}${i}`;
    for (let batch = 0; batch < 3; batch++) {
      const updates = Array.from({ length: 1000 }, (_, i) => ({
        topic: topic(batch * 1000 + i),
        data: '1',
        retain: true,
      }));
      const res = await publishJson(h, updates, token);
      assert.equal(res.status, 200, res.body);
    }
    // Eight distinct templates of 16 expressions (the 128 one subscription may hold): each
    // matches up to the last `/`, where `{.p}` finds no `.`, so none matches.
    const templates = Array.from({ length: 8 }, (_, i) => {
      let t = '';
      for (let j = 0; j < 15; j++) t += `{+v${j}}${(i >> j) & 1 ? 'a/' : '/'}`;
      return `${t}{.p}`;
    });
    const before = h.hub.templateUsage().matchSteps;
    const c = new SseClient(
      hubUrl(h, `?${templates.map((s) => `topic=${encodeURIComponent(s)}`).join('&')}&snapshot=1`),
    );
    assert.equal(await c.opened, 200);
    const snapshot = await c.waitFor((e) => e.event === 'herald.snapshot', 30_000, 'the snapshot');
    c.close();
    const payload = JSON.parse(snapshot.data) as { states: unknown[]; truncated: boolean };
    assert.deepEqual(payload, { states: [], truncated: true });
    const steps = h.hub.templateUsage().matchSteps - before;
    // One state's worth over the budget at most: its 8 templates, fully matched.
    const oneState = MATCH_STEPS_PER_WEIGHT * 128 * (topic(2999).length + 1);
    assert.ok(steps >= SNAPSHOT_MATCH_STEPS, `${steps} steps`);
    assert.ok(steps <= SNAPSHOT_MATCH_STEPS + oneState, `${steps} steps`);
  });
});

describe('URL patterns (draft-08 match_urlpattern) are under the same budgets, over real sockets', () => {
  let h: RunningHerald;
  const open: { close(): unknown }[] = [];
  const perTopic = 8;
  before(async () => {
    h = await startTestHub({ anonymous: true, maxTemplates: 5, maxExpressionsPerTopic: perTopic });
  });
  after(async () => {
    for (const c of open) c.close();
    await h.close();
  });
  const patterns = (list: string[]): SseClient => {
    const c = new SseClient(
      hubUrl(h, `?${list.map((p) => `match_urlpattern=${encodeURIComponent(p)}`).join('&')}`),
    );
    open.push(c);
    return c;
  };

  test('past the distinct-pattern count: 429 HERALD_ERR_TEMPLATE_BUDGET with Retry-After and one line, SSE and WebSocket', async () => {
    const held = patterns(Array.from({ length: 5 }, (_, i) => `https://site${i}.example/books/:id`));
    assert.equal(await held.opened, 200);
    const shared = patterns(['https://site0.example/books/:id']);
    assert.equal(await shared.opened, 200, 'a pattern already held costs nothing more');
    assert.equal(h.hub.templateUsage().urlPatterns, 5);
    const over = patterns(['https://site9.example/books/:id']);
    assert.equal(await over.opened, 429);
    assertSseRefused(
      over,
      429,
      'HERALD_ERR_TEMPLATE_BUDGET',
      /limit of 5 distinct URI templates and URL patterns/,
    );
    assert.ok(over.headers['retry-after'], 'Retry-After is set');

    const ws = new WsProbe(wsUrl(h));
    open.push(ws);
    await ws.opened;
    ws.send({ op: 'subscribe', match_urlpattern: ['https://site8.example/:id'], ref: 1 });
    const reply = await ws.next((m) => m['op'] === 'subscribed' || m['op'] === 'error', 10_000);
    assert.equal(reply['op'], 'error');
    assert.equal(reply['code'], 'HERALD_ERR_TEMPLATE_BUDGET');

    // The held patterns still deliver, and one over-long pattern is a 400, not a budget matter.
    const res = await publishJson(
      h,
      { topic: 'https://site1.example/books/9', data: 'book 9' },
      await publisherToken(),
    );
    assert.equal(res.status, 200);
    await held.waitFor((e) => e.data === 'book 9', 10_000);
    const tooLong = patterns([`https://site0.example/${'x'.repeat(2100)}/:id`]);
    assert.equal(await tooLong.opened, 400);
    assert.equal(tooLong.headers['x-herald-error'], 'HERALD_ERR_BAD_SELECTOR');

    held.close();
    shared.close();
    await eventually(() => h.hub.templateUsage().urlPatterns === 0, 'budget released');
  });

  test('a flood of host-wildcard patterns is refused past the per-topic weight; a publish stays within the step bound', async () => {
    const admitted: SseClient[] = [];
    let refused: SseClient | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const c = patterns([`https://*.flood${i}.example/:id`]);
      if ((await c.opened) === 200) admitted.push(c);
      else refused = c;
    }
    // Each weighs 3 (host wildcard, path group): two fit under 8, the third does not.
    assert.equal(admitted.length, 2);
    assert.ok(refused);
    assertSseRefused(refused, 429, 'HERALD_ERR_TEMPLATE_BUDGET', /URL-pattern groups and wildcards/);

    const fixed = patterns(['https://fixed.example/news/:id']);
    assert.equal(await fixed.opened, 200, 'a pattern with a fixed host has its own budget');
    const topic = `https://a.flood1.example/${'n'.repeat(1500)}`;
    const before = h.hub.templateUsage().matchSteps;
    const res = await publishJson(h, { topic, data: 'x' }, await publisherToken());
    assert.equal(res.status, 200);
    await admitted[1]!.waitFor((e) => e.data === 'x', 10_000);
    const steps = h.hub.templateUsage().matchSteps - before;
    const bound = INDEX_STEPS_PER_WEIGHT * perTopic * (topic.length + 1);
    assert.ok(steps <= bound, `${steps} steps, bound ${bound}`);
  });
});
