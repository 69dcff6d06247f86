/** Shared shapes for scenarios and the report. */
import type { RunningSystem } from '../systems/types.ts';

/** One measured cell: a scenario on one system with one parameter set, in one run. */
export interface Row {
  scenario: string;
  system: string;
  run: number;
  params: Record<string, number | string>;
  metrics: Record<string, number>;
  /** Why a cell is partial or skipped. */
  note?: string;
}

export interface BenchConfig {
  quick: boolean;
  runs: number;
  /** Seconds each paced publishing phase lasts. */
  publishSeconds: number;
  /** Most time to wait for in-flight deliveries after publishing stops. */
  drainMs: number;
  fanout: Array<{ subscribers: number; rates: number[] }>;
  manyTopics: { topics: number; rates: number[] };
  idleLevels: number[];
  /** Reconnect storm; `timeoutMs` bounds the wait for every client to be live again. */
  storm: { clients: number; rate: number; timeoutMs: number };
  publish: { seconds: number; batch: number };
  /**
   * `herald-100k`: subscribers held by a `--workers` hub (workers: computed from `ulimit -n`
   * unless set), quiet time before the memory reading, seconds of the 1 update/s phase.
   */
  herald100k: { subscribers: number; workers?: number; quietMs: number; publishSeconds: number; connectTimeoutMs: number };
  /** Minimum load-generator workers for the load-generator check. */
  loadgenCheck: { subscribers: number; rate: number };
}

/** A scenario runs against a system it starts itself (so it can pick fresh processes). */
export type Scenario = (ctx: ScenarioContext) => Promise<Row[]>;

export interface ScenarioContext {
  config: BenchConfig;
  run: number;
  systemName: string;
  start(): Promise<RunningSystem>;
  log(msg: string): void;
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
