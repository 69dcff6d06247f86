/** Turns raw rows into medians, ratios and the RESULTS.md tables. */
import { median } from './lib/stats.ts';
import type { BenchConfig, Row } from './scenarios/types.ts';

export interface SummaryRow {
  scenario: string;
  system: string;
  params: Record<string, number | string>;
  runs: number;
  /** Median over runs of each metric. */
  metrics: Record<string, number>;
  notes: string[];
}

const key = (r: { scenario: string; system: string; params: Record<string, number | string> }): string =>
  `${r.scenario}|${r.system}|${JSON.stringify(r.params)}`;

export function summarize(rows: readonly Row[]): SummaryRow[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out: SummaryRow[] = [];
  for (const g of groups.values()) {
    const first = g[0] as Row;
    const names = new Set(g.flatMap((r) => Object.keys(r.metrics)));
    const metrics: Record<string, number> = {};
    for (const n of names) metrics[n] = median(g.map((r) => r.metrics[n] ?? Number.NaN));
    out.push({
      scenario: first.scenario,
      system: first.system,
      params: first.params,
      runs: g.filter((r) => Object.keys(r.metrics).length > 0).length,
      metrics,
      notes: [...new Set(g.map((r) => r.note).filter((n): n is string => !!n))],
    });
  }
  return out;
}

/** Per run, `metric` of `system` divided by the same metric of `baseline` (same params), then the median. */
export function ratio(rows: readonly Row[], scenario: string, params: Record<string, number | string>, metric: string, system: string, baseline: string, pick: 'max' | 'same' = 'same'): number {
  const runs = new Set(rows.map((r) => r.run));
  const ratios: number[] = [];
  const match = (r: Row): boolean => Object.entries(params).every(([k, v]) => r.params[k] === v);
  for (const run of runs) {
    const value = (sys: string): number => {
      const vals = rows.filter((r) => r.run === run && r.scenario === scenario && r.system === sys && match(r)).map((r) => r.metrics[metric] ?? Number.NaN);
      if (vals.length === 0) return Number.NaN;
      return pick === 'max' ? Math.max(...vals) : (vals[0] as number);
    };
    const a = value(system);
    const b = value(baseline);
    if (Number.isFinite(a) && Number.isFinite(b) && b !== 0) ratios.push(a / b);
  }
  return median(ratios);
}

const fmt = (v: number | undefined, digits = 0): string => {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
};
const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`);

function table(head: string[], body: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface Column {
  title: string;
  cell(s: SummaryRow): string;
}

function section(summary: readonly SummaryRow[], scenario: string | readonly string[], cols: Column[], sort: (a: SummaryRow, b: SummaryRow) => number): string {
  const wanted = typeof scenario === 'string' ? [scenario] : scenario;
  const rows = summary.filter((s) => wanted.includes(s.scenario)).sort(sort);
  if (rows.length === 0) return '_not run_';
  return table(
    cols.map((c) => c.title),
    rows.map((s) => cols.map((c) => c.cell(s))),
  );
}

const p = (name: string): Column => ({ title: name, cell: (s) => String(s.params[name] ?? '') });
const m = (title: string, name: string, digits = 0): Column => ({ title, cell: (s) => fmt(s.metrics[name], digits) });
const sysCol: Column = { title: 'system', cell: (s) => s.system };
/** Systems whose only subscribers are WebSocket ones: their `fanout`/`storm` rows are WebSocket too. */
const WEBSOCKET_ONLY = new Set(['socketio-redis']);
/** SSE rows come from `fanout`/`storm`, WebSocket ones from `ws-fanout`/`ws-storm`. */
const transportCol: Column = {
  title: 'transport',
  cell: (s) =>
    s.scenario.startsWith('ws-') || WEBSOCKET_ONLY.has(s.system)
      ? `WebSocket${s.params.deflate === 'offered' ? ' (deflate offered)' : ''}`
      : 'SSE',
};
const noteCol: Column = { title: 'note', cell: (s) => s.notes.join('; ').replace(/\|/g, '/') };
const byParams = (...names: string[]) => (a: SummaryRow, b: SummaryRow): number => {
  for (const n of names) {
    const d = Number(a.params[n] ?? 0) - Number(b.params[n] ?? 0);
    if (d !== 0) return d;
  }
  return a.system.localeCompare(b.system);
};

export const HERALD = 'herald';
export const BASELINES = ['express-sse', 'socketio-redis', 'nchan'];

/** Headline ratios: Herald over each baseline, per run then median. */
export function headline(rows: readonly Row[], config: BenchConfig): Array<{ what: string; baseline: string; ratio: number }> {
  const out: Array<{ what: string; baseline: string; ratio: number }> = [];
  for (const level of config.fanout) {
    for (const b of BASELINES) {
      out.push({
        what: `saturated fan-out deliveries/s, ${level.subscribers} subscribers`,
        baseline: b,
        ratio: ratio(rows, 'fanout', { subscribers: level.subscribers }, 'deliveriesPerSec', HERALD, b, 'max'),
      });
    }
  }
  const idleLevels = [...new Set(rows.filter((r) => r.scenario === 'idle' && r.system === HERALD && r.metrics.kbPerConn !== undefined).map((r) => Number(r.params.subscribers)))];
  const idleLevel = Math.max(0, ...idleLevels);
  for (const b of BASELINES) {
    out.push({ what: `KB per idle connection at ${idleLevel}, 2 s after connecting (lower is better)`, baseline: b, ratio: ratio(rows, 'idle', { subscribers: idleLevel }, 'kbPerConn', HERALD, b) });
    out.push({ what: `KB per idle connection at ${idleLevel}, after 30 s quiet (lower is better)`, baseline: b, ratio: ratio(rows, 'idle', { subscribers: idleLevel }, 'kbPerConnSteady', HERALD, b) });
  }
  for (const level of config.fanout) {
    out.push({
      what: `saturated fan-out deliveries/s, ${level.subscribers} subscribers: --workers 2 vs one process`,
      baseline: HERALD,
      ratio: ratio(rows, 'fanout', { subscribers: level.subscribers }, 'deliveriesPerSec', 'herald-2w', HERALD, 'max'),
    });
    for (const b of BASELINES) {
      out.push({
        what: `server CPU µs per delivery, ${level.subscribers} subscribers, highest rate (lower is better)`,
        baseline: b,
        ratio: ratio(rows, 'fanout', { subscribers: level.subscribers, rate: Math.max(...level.rates) }, 'cpuUsPerDelivery', HERALD, b),
      });
    }
  }
  for (const level of config.fanout) {
    out.push({ what: `WebSocket ÷ SSE saturated fan-out deliveries/s, ${level.subscribers} subscribers`, baseline: 'herald SSE', ratio: wsOverSse(rows, { subscribers: level.subscribers }, 'deliveriesPerSec', 'max') });
    out.push({ what: `WebSocket ÷ SSE server CPU µs per delivery, ${level.subscribers} subscribers, highest rate (lower is better)`, baseline: 'herald SSE', ratio: wsOverSse(rows, { subscribers: level.subscribers, rate: Math.max(...level.rates) }, 'cpuUsPerDelivery', 'same') });
    out.push({
      what: `WebSocket fan-out deliveries/s, ${level.subscribers} subscribers`,
      baseline: 'socketio-redis',
      ratio: ratio(rows, 'ws-fanout', { subscribers: level.subscribers, deflate: 'off' }, 'deliveriesPerSec', HERALD, 'socketio-redis', 'max'),
    });
  }
  out.push({ what: 'many-topics deliveries/s (best rate)', baseline: 'express-sse', ratio: ratio(rows, 'many-topics', {}, 'deliveriesPerSec', HERALD, 'express-sse', 'max') });
  return out.filter((h) => Number.isFinite(h.ratio));
}

/**
 * Per run, Herald's WebSocket `metric` over its SSE one (same subscribers, rate), then the
 * median: issue 19's target 1 (WebSocket within 10 % of SSE). Deflate cells are left out.
 */
export function wsOverSse(rows: readonly Row[], params: Record<string, number | string>, metric: string, pick: 'max' | 'same'): number {
  const relabel = (r: Row, system: string): Row => ({ ...r, scenario: 'ws-vs-sse', system });
  const herald = rows.filter((r) => r.system === HERALD);
  const ws = herald.filter((r) => r.scenario === 'ws-fanout' && r.params.deflate !== 'offered').map((r) => relabel(r, 'ws'));
  const sse = herald.filter((r) => r.scenario === 'fanout').map((r) => relabel(r, 'sse'));
  return ratio([...ws, ...sse], 'ws-vs-sse', params, metric, 'ws', 'sse', pick);
}

export function renderMarkdown(rows: readonly Row[], config: BenchConfig, meta: Record<string, string>): string {
  const summary = summarize(rows);
  const heads = headline(rows, config);
  const parts: string[] = [];
  parts.push('# Benchmark results', '');
  parts.push(`Generated by \`npm run bench\`${config.quick ? ' (BENCH_QUICK=1 smoke run: small sizes, short phases — indicative only)' : ''}. ${config.runs} run(s); every figure is the median over runs. Ratios are computed within each run (Herald vs a baseline measured minutes apart on the same machine), then the median is taken.`, '');
  parts.push(Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`).join('\n'), '');
  parts.push('## Headline (Herald ÷ baseline)', '');
  parts.push(heads.length ? table(['what', 'baseline', 'ratio'], heads.map((h) => [h.what, h.baseline, `${h.ratio.toFixed(2)}×`])) : '_Herald not measured in this run._', '');

  parts.push('## Fan-out: one topic', '', 'Deliveries/s counted at the subscribers from the first publish to the last delivery (at most the drain time after publishing stops). Latency: publish timestamp in the payload to parse in the load generator. SSE rows come from the `fanout` scenario, WebSocket rows from `ws-fanout` (Herald\'s `/ws` dialect, Socket.IO\'s websocket transport); bytes per delivery are read by the raw-socket clients (SSE, Herald WebSocket), framing included.', '');
  parts.push(
    section(summary, ['fanout', 'ws-fanout'], [p('subscribers'), p('rate'), transportCol, sysCol, m('published/s', 'publishRate'), m('deliveries/s', 'deliveriesPerSec'), { title: 'delivered', cell: (s) => pct(s.metrics.deliveredFraction) }, m('p50 ms', 'p50', 1), m('p99 ms', 'p99', 1), m('max ms', 'max', 0), m('server CPU %', 'serverCpu'), m('server CPU µs / delivery', 'cpuUsPerDelivery', 2), m('bytes / delivery', 'bytesPerDelivery', 1), m('loadgen CPU % (max worker)', 'loadgenCpuMax'), m('machine CPU % (of 200)', 'machineCpu'), m('workers', 'workers'), noteCol], (a, b) => byParams('subscribers', 'rate')(a, b) || a.scenario.localeCompare(b.scenario)),
    '',
  );
  parts.push('## Many topics: one subscriber each', '');
  parts.push(
    section(summary, 'many-topics', [p('topics'), p('rate'), sysCol, m('published/s', 'publishRate'), m('deliveries/s', 'deliveriesPerSec'), { title: 'delivered', cell: (s) => pct(s.metrics.deliveredFraction) }, m('p50 ms', 'p50', 1), m('p99 ms', 'p99', 1), m('max ms', 'max', 0), m('server CPU %', 'serverCpu'), m('loadgen CPU %', 'loadgenCpuMax'), noteCol], byParams('topics', 'rate')),
    '',
  );
  parts.push('## Idle scale: memory per open subscriber', '', 'Server RSS (all server processes) 2 s after the subscribers are live, and again after 30 s of quiet (garbage-collected runtimes release the connection burst\'s garbage only after some quiet seconds); KB/conn = (RSS(N) − RSS(0)) / N.', '');
  parts.push(section(summary, 'idle', [p('subscribers'), sysCol, m('RSS MB (2 s)', 'rssMB', 1), m('KB / conn (2 s)', 'kbPerConn', 1), m('RSS MB (30 s)', 'rssSteadyMB', 1), m('KB / conn (30 s)', 'kbPerConnSteady', 1), m('connect s', 'connectSeconds', 1), noteCol], byParams('subscribers')), '');
  parts.push('## Reconnect storm', '', 'All clients drop at once while updates keep flowing and reconnect immediately with `Last-Event-ID`. Missed = updates published after a client\'s last received one that it never got.', '');
  parts.push(section(summary, ['storm', 'ws-storm'], [p('clients'), transportCol, sysCol, m('all live again s', 'allLiveSeconds', 2), m('missed', 'missed'), m('clients with gaps', 'clientsWithGaps'), m('duplicates', 'duplicates'), m('published', 'published'), noteCol], byParams('clients')), '');
  parts.push('## 100 000 SSE subscribers on one machine (`herald-100k`)', '', 'Herald as `--workers N` (node:cluster, one port) with several load-generator processes spreading their sockets over 127.0.0.2-17. KB/conn = (RSS of all hub processes with N subscribers − RSS before) / N; then a 1 update/s topic every subscriber receives.', '');
  parts.push(section(summary, 'herald-100k', [p('subscribers'), p('hubWorkers'), sysCol, m('connect s', 'connectSeconds', 1), m('connects/s', 'connectsPerSec'), m('RSS MB', 'rssMB'), m('KB / conn (2 s)', 'kbPerConn', 1), m('KB / conn (quiet)', 'kbPerConnQuiet', 1), { title: 'delivered', cell: (s) => pct(s.metrics.deliveredFraction) }, m('p50 ms', 'p50', 1), m('p99 ms', 'p99', 1), m('max ms', 'max'), m('server CPU µs / delivery', 'cpuUsPerDelivery', 1), m('generators', 'generators'), noteCol], byParams('subscribers')), '');
  parts.push('## Publish throughput', '', 'No subscribers except one on the topic; single = one form-encoded update per request, batch = one JSON request with many updates (where the system has a batch API).', '');
  parts.push(section(summary, 'publish', [p('mode'), sysCol, m('updates/s', 'updatesPerSec'), m('requests/s', 'requestsPerSec'), m('failed', 'failed'), m('publisher CPU %', 'publisherCpu'), m('server CPU %', 'serverCpu'), noteCol], (a, b) => String(a.params.mode).localeCompare(String(b.params.mode)) || a.system.localeCompare(b.system)), '');
  parts.push('## Load-generator check', '', 'Same saturated fan-out measured with one and with two load-generator processes: if the second process does not raise deliveries/s, the generator is not the bottleneck.', '');
  parts.push(section(summary, 'loadgen-check', [p('transport'), p('workers'), sysCol, m('deliveries/s', 'deliveriesPerSec'), m('loadgen CPU % (max worker)', 'loadgenCpuMax'), m('server CPU %', 'serverCpu'), noteCol], (a, b) => String(a.params.transport).localeCompare(String(b.params.transport)) || byParams('workers')(a, b)), '');
  parts.push(...capacitySections(summary));
  const skipped = summary.filter((s) => s.scenario === 'skipped');
  if (skipped.length) {
    parts.push('## Not available', '', table(['system', 'reason'], skipped.map((s) => [s.system, s.notes.join('; ')])), '');
  }
  return parts.join('\n');
}

/** The capacity scenario's tables: per phase, the figures docs/scaling.md's model uses. */
function capacitySections(summary: readonly SummaryRow[]): string[] {
  const phase = (name: string): SummaryRow[] => summary.filter((s) => s.scenario === 'capacity' && s.params.phase === name);
  if (!summary.some((s) => s.scenario === 'capacity')) return [];
  const bySystem = (a: SummaryRow, b: SummaryRow): number => a.system.localeCompare(b.system) || String(a.params.mode ?? a.params.rate ?? '').localeCompare(String(b.params.mode ?? b.params.rate ?? ''), 'en', { numeric: true });
  const redisCols = [m('Redis commands / publish', 'redisOpsPerPublish', 2), m('scripts / publish', 'redisScriptsPerPublish', 2), m('ticks / publish', 'ticksPerPublish', 2), m('Redis bytes in / publish', 'redisInBytesPerPublish'), m('Redis bytes out / publish', 'redisOutBytesPerPublish'), m('Redis CPU µs / publish', 'redisCpuUsPerPublish', 1)];
  return [
    '## Capacity: per node and per publish', '',
    'Publishes go to the first node; subscribers (`topic=*`) alternate between the nodes; updates rotate over 64 topics. Redis figures are `INFO` deltas summed over every primary, divided by the updates published (commands include those the scripts run; CPU is net of Redis\' idle CPU).', '',
    '### Publish flat out, no subscribers', '',
    section(phase('publish'), 'capacity', [p('mode'), sysCol, m('nodes', 'nodes'), m('publishes/s', 'publishesPerSec'), m('publishing node CPU %', 'publishingNodeCpu'), m('publishing node CPU µs / publish', 'publishingNodeCpuUsPerPublish', 1), m('other node CPU µs / publish', 'otherNodeCpuUsPerPublish', 1), ...redisCols, noteCol], bySystem), '',
    '### Idle subscribers: memory per connection (10 s after connecting)', '',
    section(phase('memory'), 'capacity', [p('subscribers'), sysCol, m('KB / conn (node RSS)', 'kbPerConn', 2), m('largest node RSS MB', 'nodeRssMB', 1), m('Redis bytes / conn', 'redisBytesPerConn', 1), m('connect s', 'connectSeconds', 1), noteCol], bySystem), '',
    '### Fan-out over many topics', '',
    section(phase('fanout'), 'capacity', [p('subscribers'), p('rate'), sysCol, m('published/s', 'publishRate'), m('deliveries/s', 'deliveriesPerSec'), m('deliveries/s per node', 'deliveriesPerSecPerNode'), { title: 'delivered', cell: (s) => pct(s.metrics.deliveredFraction) }, m('node CPU % (avg)', 'nodeCpuAvg'), m('node CPU µs / delivery', 'nodeCpuUsPerDelivery', 2), m('deliveries per core-second', 'deliveriesPerCoreSec'), m('machine CPU % (of 200)', 'machineCpu'), ...redisCols, noteCol], bySystem), '',
    '### Redis with nothing published', '',
    section(phase('background'), 'capacity', [sysCol, m('primaries', 'primaries'), m('commands/s', 'redisOpsPerSec'), m('bytes in/s', 'redisInBytesPerSec'), m('bytes out/s', 'redisOutBytesPerSec'), m('Redis CPU %', 'redisCpuPercent', 1)], bySystem), '',
  ];
}
