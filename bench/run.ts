/**
 * Benchmark orchestrator: `npm run bench` (full, 3 runs) or `BENCH_QUICK=1 npm run bench`.
 * Filters: BENCH_SYSTEMS=herald,express-sse  BENCH_SCENARIOS=fanout,idle  BENCH_RUNS=N.
 * `herald-100k` runs only when named in BENCH_SCENARIOS.
 * Every phase is bounded; BENCH_MAX_MINUTES stops the whole run (default 15 quick, 150 full).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { loadConfig } from './config.ts';
import { renderMarkdown, summarize, headline } from './report.ts';
import { capacity } from './scenarios/capacity.ts';
import { fanout, wsFanout } from './scenarios/fanout.ts';
import { herald100k } from './scenarios/herald-100k.ts';
import { idle } from './scenarios/idle.ts';
import { loadgenCheck } from './scenarios/loadgen-check.ts';
import { manyTopics } from './scenarios/many-topics.ts';
import { publish } from './scenarios/publish.ts';
import { storm, wsStorm } from './scenarios/storm.ts';
import type { Row, Scenario } from './scenarios/types.ts';
import { ALL_SYSTEMS } from './systems/index.ts';

const SCENARIOS: Record<string, Scenario> = {
  fanout,
  'many-topics': manyTopics,
  idle,
  storm,
  publish,
  'loadgen-check': loadgenCheck,
  'ws-fanout': wsFanout,
  'ws-storm': wsStorm,
  'herald-100k': herald100k,
  capacity,
};
/** Scenarios run only when named in BENCH_SCENARIOS (they take the whole machine for minutes). */
const OPT_IN = new Set(['herald-100k', 'capacity']);

function pick<T>(all: Record<string, T>, filter: string | undefined): Array<[string, T]> {
  const names = filter ? filter.split(',').map((s) => s.trim()) : Object.keys(all);
  return names.map((n) => {
    const v = all[n];
    if (!v) throw new Error(`unknown name ${n}; known: ${Object.keys(all).join(', ')}`);
    return [n, v];
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const maxMs = Number(process.env.BENCH_MAX_MINUTES ?? (config.quick ? 15 : 150)) * 60_000;
  const t0 = Date.now();
  const systems = pick(Object.fromEntries(ALL_SYSTEMS.map((s) => [s.name, s])), process.env.BENCH_SYSTEMS);
  // The quick run leaves out the two slowest cross-checks unless they are asked for by name.
  const scenarioFilter = process.env.BENCH_SCENARIOS ?? (config.quick ? 'fanout,ws-fanout,idle,storm,ws-storm,publish' : undefined);
  const scenarios = pick(SCENARIOS, scenarioFilter).filter(([n]) => scenarioFilter !== undefined || !OPT_IN.has(n));
  const log = (msg: string): void => console.log(`[bench +${Math.round((Date.now() - t0) / 1000)}s] ${msg}`);
  const rows: Row[] = [];

  const available = new Map<string, string | undefined>();
  for (const [name, sys] of systems) {
    const reason = await sys.available();
    available.set(name, reason);
    if (reason) {
      log(`${name}: not available (${reason})`);
      rows.push({ scenario: 'skipped', system: name, run: 0, params: {}, metrics: {}, note: `not available: ${reason}` });
    }
  }

  // BENCH_OUT=storm-2w writes bench/RESULTS-storm-2w.md and bench/results-storm-2w.json instead.
  const suffix = process.env.BENCH_OUT ? `-${process.env.BENCH_OUT.replace(/[^\w.-]/g, '_')}` : '';
  const out = { md: `bench/RESULTS${suffix}.md`, json: `bench/results${suffix}.json` };
  let stopped = false;
  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
  // Written after every cell too, so a run cut short still leaves its numbers behind.
  const write = (final: boolean): void => {
    const meta: Record<string, string> = {
      date: new Date(t0).toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB RAM, Node ${process.version}`,
      // Caps every server's accept queue, whatever backlog it asks for: it shapes the storm.
      somaxconn: readSysctl('/proc/sys/net/core/somaxconn'),
      mode: config.quick ? 'quick' : 'full',
      duration: `${Math.round((Date.now() - t0) / 60_000)} min${stopped ? ' (stopped by time budget)' : final ? '' : ' (in progress)'}`,
    };
    mkdirSync('bench/raw', { recursive: true });
    writeFileSync(`bench/raw/${stamp}.json`, JSON.stringify({ meta, config, rows }, null, 1));
    writeFileSync(`${out.json}`, `${JSON.stringify({ meta, config, headline: headline(rows, config), summary: summarize(rows) }, null, 1)}\n`);
    writeFileSync(`${out.md}`, renderMarkdown(rows, config, meta));
  };
  outer: for (let run = 1; run <= config.runs; run++) {
    for (const [scName, scenario] of scenarios) {
      for (const [sysName, sys] of systems) {
        if (available.get(sysName)) continue;
        if (sys.onlyScenarios && !sys.onlyScenarios.includes(scName)) continue;
        if (Date.now() - t0 > maxMs) {
          log(`time budget of ${maxMs / 60_000} min used up; writing partial results`);
          stopped = true;
          break outer;
        }
        log(`run ${run}/${config.runs} ${scName} on ${sysName}`);
        try {
          rows.push(...(await scenario({ config, run, systemName: sysName, start: () => sys.start(), log })));
        } catch (err) {
          const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
          log(`  failed: ${msg}`);
          rows.push({ scenario: scName, system: sysName, run, params: {}, metrics: {}, note: `error: ${msg}` });
        }
        write(false);
      }
    }
  }

  write(true);
  log(`wrote ${out.md}, ${out.json} and bench/raw/`);
}

function readSysctl(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
