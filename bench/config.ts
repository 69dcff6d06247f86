/** Bench parameters: full mode by default (~20 min per run of every system), `BENCH_QUICK=1` for a smoke run (a few minutes). */
import type { BenchConfig } from './scenarios/types.ts';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const config = defaults(env);
  // BENCH_FANOUT=10000:10,100;1000:1000 runs just those fan-out cells (subscribers:rates).
  if (env.BENCH_FANOUT) config.fanout = parseFanout(env.BENCH_FANOUT);
  // BENCH_LOADGEN_CHECK=9000:1000 runs the generator check on another cell (one worker holds
  // at most 9 500 subscribers).
  if (env.BENCH_LOADGEN_CHECK) {
    const [cell] = parseFanout(env.BENCH_LOADGEN_CHECK);
    if (!cell || cell.rates.length !== 1 || cell.subscribers > 9_500)
      throw new Error('BENCH_LOADGEN_CHECK: expected SUBSCRIBERS:RATE with at most 9500 subscribers');
    config.loadgenCheck = { subscribers: cell.subscribers, rate: cell.rates[0]! };
  }
  // BENCH_100K_SUBSCRIBERS=50000 BENCH_100K_WORKERS=4 BENCH_100K_QUIET_S=30: herald-100k's size.
  if (env.BENCH_100K_SUBSCRIBERS) config.herald100k.subscribers = positive('BENCH_100K_SUBSCRIBERS', env.BENCH_100K_SUBSCRIBERS);
  if (env.BENCH_100K_WORKERS) config.herald100k.workers = positive('BENCH_100K_WORKERS', env.BENCH_100K_WORKERS);
  if (env.BENCH_100K_QUIET_S) config.herald100k.quietMs = positive('BENCH_100K_QUIET_S', env.BENCH_100K_QUIET_S) * 1000;
  return config;
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got "${value}"`);
  return n;
}

function parseFanout(spec: string): BenchConfig['fanout'] {
  return spec.split(';').map((cell) => {
    const [subs, rates] = cell.split(':');
    const subscribers = Number(subs);
    const list = (rates ?? '').split(',').map(Number);
    if (!Number.isInteger(subscribers) || subscribers <= 0 || list.some((r) => !(r > 0)))
      throw new Error(`BENCH_FANOUT: cannot read "${cell}"; expected SUBSCRIBERS:RATE[,RATE...] cells joined by ";"`);
    return { subscribers, rates: list };
  });
}

function defaults(env: NodeJS.ProcessEnv): BenchConfig {
  const quick = env.BENCH_QUICK === '1';
  const runs = Number(env.BENCH_RUNS ?? (quick ? 1 : 3));
  if (quick) {
    return {
      quick,
      runs,
      publishSeconds: 3,
      drainMs: 2_000,
      // 10 000-subscriber cells and the 10 000-client storm are in the full run only.
      fanout: [
        { subscribers: 1_000, rates: [1_000] },
        { subscribers: 5_000, rates: [10] },
      ],
      manyTopics: { topics: 2_000, rates: [1_000] },
      idleLevels: [0, 5_000],
      storm: { clients: 1_000, rate: 50, timeoutMs: 20_000 },
      publish: { seconds: 2, batch: 100 },
      herald100k: { subscribers: 2_000, workers: 2, quietMs: 5_000, publishSeconds: 3, connectTimeoutMs: 60_000 },
      loadgenCheck: { subscribers: 1_000, rate: 1_000 },
    };
  }
  return {
    quick,
    runs,
    // 6 s phases keep three full runs of every system near an hour on 2 cores (43 min measured before the idle steady-state wait).
    publishSeconds: 6,
    drainMs: 3_000,
    fanout: [
      { subscribers: 1_000, rates: [10, 100, 1_000] },
      { subscribers: 10_000, rates: [10, 100, 1_000] },
    ],
    manyTopics: { topics: 10_000, rates: [1_000, 5_000] },
    idleLevels: [0, 10_000, 50_000],
    // Herald and Nchan are back within 10 s; the bound only stops hubs that never get there.
    storm: { clients: 10_000, rate: 50, timeoutMs: 45_000 },
    publish: { seconds: 5, batch: 100 },
    // The connect bound only stops a stuck run (at the ~280 µs per connection issue 19 measured, 100 000 take ~30 s).
    herald100k: { subscribers: 100_000, quietMs: 30_000, publishSeconds: 10, connectTimeoutMs: 300_000 },
    loadgenCheck: { subscribers: 1_000, rate: 1_000 },
  };
}
