/** Orchestrator side of the load generator: forks workers and talks to them over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { Histogram } from '../lib/stats.ts';
import type { SubscribeTarget } from '../systems/types.ts';
import type { Command, Reply, WorkerStats } from './protocol.ts';

/** Most subscribers one worker holds: well under the 20 000 descriptors a process may open. */
export const MAX_PER_WORKER = 9_500;
/** Source addresses clients spread over: each has its own ephemeral port range. */
export const SOURCE_ADDRESSES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
const REPLY_TIMEOUT_MS = 30_000;

interface Worker {
  child: ChildProcess;
  pending: Array<(r: Reply) => void>;
}

export interface PoolStats {
  deliveries: number;
  /** Bytes the clients read from the wire (raw-socket clients only). */
  bytes: number;
  /** Clients whose hub accepted permessage-deflate. */
  deflated: number;
  histogram: Histogram;
  /** CPU of each worker, percent of one core. */
  workerCpu: number[];
  live: number;
  errors: number;
}

export interface OpenResult {
  live: number;
  failed: number;
  ms: number;
  firstError?: string;
}

/** A set of load-generator processes holding `total` subscribers between them. */
export class LoadPool {
  readonly #workers: Worker[] = [];

  static async create(workerCount: number): Promise<LoadPool> {
    const pool = new LoadPool();
    for (let i = 0; i < workerCount; i++) {
      const child = fork('bench/loadgen/worker.ts', [], {
        execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const w: Worker = { child, pending: [] };
      child.on('message', (m) => w.pending.shift()?.(m as Reply));
      child.on('exit', () => {
        for (const p of w.pending.splice(0)) p({ op: 'closed' });
      });
      pool.#workers.push(w);
    }
    return pool;
  }

  get size(): number {
    return this.#workers.length;
  }

  pids(): number[] {
    return this.#workers.map((w) => w.child.pid ?? 0);
  }

  #ask(w: Worker, cmd: Command, timeoutMs = REPLY_TIMEOUT_MS): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not answer ${cmd.op}`)), timeoutMs);
      w.pending.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      w.child.send(cmd);
    });
  }

  #all(cmd: (index: number) => Command, timeoutMs?: number): Promise<Reply[]> {
    return Promise.all(this.#workers.map((w, i) => this.#ask(w, cmd(i), timeoutMs)));
  }

  /** Open `total` subscribers spread evenly over the workers; resolves when all are live or time is up. */
  async open(target: SubscribeTarget, total: number, topic: string, perClientTopic: boolean, timeoutMs: number): Promise<OpenResult> {
    const n = this.#workers.length;
    const per = Math.ceil(total / n);
    const replies = await this.#all(
      (i) => ({
        op: 'open',
        target,
        count: Math.max(0, Math.min(per, total - i * per)),
        firstIndex: i * per,
        topic,
        perClientTopic,
        localAddresses: SOURCE_ADDRESSES,
        sseClient: process.env.BENCH_SSE_CLIENT === 'http' ? 'http' : 'net',
        wsDeflate: process.env.BENCH_WS_DEFLATE === '1',
        timeoutMs,
      }),
      timeoutMs + REPLY_TIMEOUT_MS,
    );
    const out: OpenResult = { live: 0, failed: 0, ms: 0 };
    for (const r of replies) {
      if (r.op !== 'opened') continue;
      out.live += r.live;
      out.failed += r.failed;
      out.ms = Math.max(out.ms, r.ms);
      if (r.firstError) out.firstError ??= r.firstError;
    }
    return out;
  }

  async reset(): Promise<void> {
    await this.#all(() => ({ op: 'reset' }));
  }

  async stats(): Promise<PoolStats> {
    const replies = await this.#all(() => ({ op: 'stats' }));
    const out: PoolStats = { deliveries: 0, bytes: 0, deflated: 0, histogram: new Histogram(), workerCpu: [], live: 0, errors: 0 };
    for (const r of replies) {
      if (r.op !== 'stats') continue;
      const s: WorkerStats = r.stats;
      out.deliveries += s.deliveries;
      out.bytes += s.bytes;
      out.deflated += s.deflated;
      out.histogram.merge(s.histogram);
      out.workerCpu.push(s.cpuPercent);
      out.live += s.live;
      out.errors += s.errors;
    }
    return out;
  }

  /** Every worker drops all its clients at once and resumes them; time until all are live again. */
  async storm(timeoutMs: number): Promise<{ live: number; failed: number; ms: number; errors: number; firstError?: string }> {
    const replies = await this.#all(() => ({ op: 'storm', timeoutMs }), timeoutMs + REPLY_TIMEOUT_MS);
    const out: { live: number; failed: number; ms: number; errors: number; firstError?: string } = { live: 0, failed: 0, ms: 0, errors: 0 };
    for (const r of replies) {
      if (r.op !== 'storm') continue;
      out.live += r.live;
      out.failed += r.failed;
      out.errors += r.errors;
      out.ms = Math.max(out.ms, r.ms);
      if (r.firstError) out.firstError ??= r.firstError;
    }
    return out;
  }

  async gaps(lastSeq: number): Promise<{ missed: number; duplicates: number; clientsWithGaps: number; samples: string[] }> {
    const replies = await this.#all(() => ({ op: 'gaps', lastSeq }));
    const out = { missed: 0, duplicates: 0, clientsWithGaps: 0, samples: [] as string[] };
    for (const r of replies) {
      if (r.op !== 'gaps') continue;
      out.missed += r.missed;
      out.duplicates += r.duplicates;
      out.clientsWithGaps += r.clientsWithGaps;
      out.samples.push(...(r.samples ?? []));
    }
    return out;
  }

  /** Close every subscriber and end the workers (kills them if they do not exit). */
  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map(async (w) => {
        if (w.child.exitCode !== null) return;
        const exited = new Promise<void>((r) => w.child.once('exit', () => r()));
        try {
          await this.#ask(w, { op: 'close' }, 10_000);
        } catch {
          // fall through to kill
        }
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

/** Workers needed for `total` subscribers, at least `min`. */
export function workersFor(total: number, min = 1): number {
  return Math.max(min, Math.ceil(total / MAX_PER_WORKER));
}
