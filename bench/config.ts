/** Bench parameters: full mode by default, `BENCH_QUICK=1` for a ~2-3 minute smoke run. */
import type { BenchConfig } from './scenarios/types.ts';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1';
  const runs = Number(env.BENCH_RUNS ?? (quick ? 1 : 3));
  if (quick) {
    return {
      quick,
      runs,
      publishSeconds: 3,
      drainMs: 3_000,
      fanout: [
        { subscribers: 1_000, rates: [1_000] },
        { subscribers: 10_000, rates: [10] },
      ],
      manyTopics: { topics: 2_000, rates: [1_000] },
      idleLevels: [0, 5_000],
      storm: { clients: 2_000, rate: 50, timeoutMs: 30_000 },
      publish: { seconds: 2, batch: 100 },
      loadgenCheck: { subscribers: 1_000, rate: 1_000 },
    };
  }
  return {
    quick,
    runs,
    publishSeconds: 10,
    drainMs: 5_000,
    fanout: [
      { subscribers: 1_000, rates: [10, 100, 1_000] },
      { subscribers: 10_000, rates: [10, 100, 1_000] },
    ],
    manyTopics: { topics: 10_000, rates: [1_000, 5_000] },
    idleLevels: [0, 10_000, 50_000],
    storm: { clients: 10_000, rate: 50, timeoutMs: 90_000 },
    publish: { seconds: 5, batch: 100 },
    loadgenCheck: { subscribers: 1_000, rate: 1_000 },
  };
}
