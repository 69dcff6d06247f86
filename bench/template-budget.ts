/**
 * Measures the worst case URI-template selectors can cost (issue 15, item 1), for the
 * "Resource budget per anonymous connection" table of docs/production.md. Bounded: a few
 * dozen connections and a handful of publishes, about half a minute.
 *
 *   node --import tsx bench/template-budget.ts
 *
 * 1. Memory: a `herald serve --anonymous` child process with the default limits; RSS growth
 *    per anonymous connection that holds the most expensive selectors the limits admit
 *    (WebSocket: 100 distinct 2 KB templates; SSE: as many as fit in the URL), against the
 *    same shapes as exact topics, and the hub's own accounting of compiled size.
 * 2. CPU per publish: a Hub in this process whose per-topic budget (default 512
 *    expressions) is filled with match-anything templates built to run every matcher to
 *    the end, then publishes of one short topic and of 32 topics of 2 KB, timed with
 *    process.cpuUsage and counted in matcher steps.
 */
import { readdirSync } from 'node:fs';
import { WebSocket } from 'ws';
import { ANONYMOUS, type Principal } from '../src/auth/principal.ts';
import { MemoryBroker } from '../src/broker/memory.ts';
import { defaults } from '../src/config/definitions.ts';
import { Hub } from '../src/hub/hub.ts';
import type { Sink } from '../src/hub/sink.ts';
import { INDEX_STEPS_PER_WEIGHT } from '../src/hub/topic-index.ts';
import { SelectorSet } from '../src/protocol/selector.ts';
import { startHubProcess, type HubProcess } from '../test/support/hub-process.ts';

const PATH = '/.well-known/mercure';
const MB = 2 ** 20;

// Each on its own literal prefix, so only the count and byte budgets apply (not the per-topic one).
const longTemplate = (conn: number, i: number): string =>
  `https://evil.example/${String(conn).padStart(4, '0')}-${String(i).padStart(3, '0')}/{+x}${'L'.repeat(2000)}`;
const longTopic = (conn: number, i: number): string => longTemplate(conn, i).replace('{+x}', 'x');

function broadTemplate(i: number): string {
  let t = '';
  for (let j = 0; j < 15; j++) t += `{+v${j}}${'x'.repeat(1 + ((i >> j) & 1))}`;
  return `${t}{p}`;
}

async function wsConnection(h: HubProcess, topics: string[]): Promise<{ ws: WebSocket; ok: boolean }> {
  const ws = new WebSocket(`${h.url.replace('http', 'ws')}${PATH}/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const reply = new Promise<boolean>((resolve) =>
    ws.once('message', (d) => resolve((JSON.parse(d.toString()) as { op: string }).op === 'subscribed')),
  );
  ws.send(JSON.stringify({ op: 'subscribe', topics }));
  return { ws, ok: await reply };
}

async function sseConnection(h: HubProcess, topics: string[]): Promise<{ close(): void; ok: boolean }> {
  const controller = new AbortController();
  const q = topics.map((t) => `topic=${encodeURIComponent(t)}`).join('&');
  const res = await fetch(`${h.url}${PATH}?${q}`, { signal: controller.signal });
  const reader = res.body!.getReader();
  if (res.ok) await reader.read();
  return {
    ok: res.ok,
    close: () => controller.abort(),
  };
}

async function settle(): Promise<void> {
  // Let the hub's GC catch up: RSS is read after a quiet second.
  await new Promise((r) => setTimeout(r, 1500));
}

// `--bin PATH` measures another build of the hub (e.g. an older checkout) with the same clients.
const binAt = process.argv.indexOf('--bin');
const command = binAt > 0 ? [process.execPath, process.argv[binAt + 1]!] : undefined;
const connAt = process.argv.indexOf('--connections');
const CONNECTIONS = connAt > 0 ? Number(process.argv[connAt + 1]) : 30;

async function memory(
  label: string,
  connections: number,
  open: (h: HubProcess, conn: number) => Promise<{ ok: boolean; close?: () => void; ws?: WebSocket }>,
): Promise<void> {
  const h = await startHubProcess(['--port', '0', '--host', '127.0.0.1', '--anonymous'], {}, command);
  try {
    await settle();
    const base = h.rss();
    const fdsBefore = readdirSync(`/proc/${h.child.pid}/fd`).length;
    const held: { ok: boolean; close?: () => void; ws?: WebSocket }[] = [];
    for (let c = 0; c < connections; c++) held.push(await open(h, c));
    await settle();
    const grown = h.rss() - base;
    const fds = readdirSync(`/proc/${h.child.pid}/fd`).length - fdsBefore;
    const ok = held.filter((x) => x.ok).length;
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const accounted = /^herald_uri_template_bytes (\d+)/m.exec(metrics)?.[1] ?? 'n/a';
    console.log(
      `${label}: ${ok}/${connections} admitted, RSS +${(grown / MB).toFixed(1)} MB, ${(grown / Math.max(1, ok) / 1024).toFixed(0)} KB per admitted connection, ${fds} descriptors for ${connections} connections; compiled templates accounted: ${accounted} bytes`,
    );
    for (const x of held) {
      if (x.ws) x.ws.terminate();
      else x.close?.();
    }
  } finally {
    await h.stop();
  }
}

const publisher: Principal = { ...ANONYMOUS, anonymous: false, publish: new SelectorSet(['*']) };
const silent: Sink = {
  transport: 'sse',
  open() {},
  send() {},
  notice() {},
  heartbeat() {},
  close() {},
} as unknown as Sink;

async function cpu(): Promise<void> {
  const hub = new Hub({
    broker: new MemoryBroker({ historySize: 10, historyTtlMs: 0 }),
    heartbeatMs: 0,
    statsIntervalMs: 0,
    maxTemplateExpressions: defaults.maxTemplateExpressions,
    templateBudget: {
      maxPatterns: defaults.maxTemplates,
      maxBytes: defaults.maxTemplateBytes,
      maxWeightPerTopic: defaults.maxExpressionsPerTopic,
    },
  });
  await hub.start();
  let admitted = 0;
  for (let conn = 0; ; conn++) {
    try {
      await hub.subscribe({
        selectors: Array.from({ length: 8 }, (_, i) => broadTemplate(conn * 8 + i)),
        principal: ANONYMOUS,
        sink: silent,
      });
      admitted += 8;
    } catch {
      break;
    }
  }
  // Fill what a subscription of 8 no longer fits, one template at a time.
  for (let i = admitted; ; i++) {
    try {
      await hub.subscribe({ selectors: [broadTemplate(i)], principal: ANONYMOUS, sink: silent });
      admitted++;
    } catch {
      break;
    }
  }
  console.log(
    `per-topic budget ${defaults.maxExpressionsPerTopic} expressions: ${admitted} match-anything templates of 16 expressions admitted`,
  );
  // Topics never published before (`r` is the run): the match cache cannot help.
  const cases: [string, (r: number) => string[]][] = [
    ['1 topic of 100 characters', (r) => [`${'x'.repeat(97)}${r}#`]],
    ['1 topic of 2 KB', (r) => [`${'x'.repeat(2045)}${r}#`]],
    [
      '32 topics of 2 KB',
      (r) => Array.from({ length: 32 }, (_, i) => `${'x'.repeat(2040)}${r}${String(i).padStart(5, '0')}#`),
    ],
  ];
  for (const [label, topicsOfRun] of cases) {
    const runs = 5;
    let best = Infinity;
    let steps = 0;
    const topics = topicsOfRun(runs);
    for (let r = 0; r < runs; r++) {
      const topics = topicsOfRun(r);
      const before = hub.templateUsage().matchSteps;
      const t0 = process.cpuUsage();
      await hub.publish([{ topics, data: 'x', private: false }], publisher);
      const used = process.cpuUsage(t0);
      best = Math.min(best, (used.user + used.system) / 1000);
      steps = hub.templateUsage().matchSteps - before;
    }
    const bound = topics.reduce(
      (n, t) => n + INDEX_STEPS_PER_WEIGHT * defaults.maxExpressionsPerTopic * (t.length + 1),
      0,
    );
    console.log(
      `publish of ${label}: ${best.toFixed(1)} ms CPU (best of ${runs}), ${(steps / 1e6).toFixed(1)} M matcher steps (bound ${(bound / 1e6).toFixed(1)} M)`,
    );
  }
  await hub.close();
}

if (!command) await cpu();
if (!process.argv.includes('--cpu-only')) {
  await memory('WS, 100 distinct 2 KB templates', CONNECTIONS, async (h, c) =>
    wsConnection(
      h,
      Array.from({ length: 100 }, (_, i) => longTemplate(c, i)),
    ),
  );
  await memory('WS, the same 100 2 KB templates on every connection', CONNECTIONS, async (h) =>
    wsConnection(
      h,
      Array.from({ length: 100 }, (_, i) => longTemplate(0, i)),
    ),
  );
  await memory('WS, 100 distinct 2 KB exact topics', CONNECTIONS, async (h, c) =>
    wsConnection(
      h,
      Array.from({ length: 100 }, (_, i) => longTopic(c, i)),
    ),
  );
  await memory('SSE, 6 distinct 2 KB templates (a 16 KB URL)', CONNECTIONS, async (h, c) =>
    sseConnection(
      h,
      Array.from({ length: 6 }, (_, i) => longTemplate(c, i)),
    ),
  );
  await memory('SSE, one short exact topic', CONNECTIONS, async (h) => sseConnection(h, ['urn:idle']));
}
