/** Process helpers: spawn a system under test, wait for it, read its RSS and CPU from /proc. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** A free TCP port on 127.0.0.1: the tests' helper, one copy for the repository. */
export { freePort } from '../../test/support/redis-server.ts';

export interface Spawned {
  readonly child: ChildProcess;
  readonly name: string;
  /** Last lines of stderr/stdout, for error reports. */
  tail(): string;
  stop(): Promise<void>;
}

/** Spawn a long-running process; keeps the last output lines and never leaks it past `stop()`. */
export function spawnProcess(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-4000);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk.toString('utf8')}`);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    name,
    tail: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Poll an HTTP URL until it answers (any status) or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs: number, proc?: Spawned): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.child.exitCode !== null) {
      throw new Error(`${proc.name} exited with ${proc.child.exitCode}: ${proc.tail()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(url, { method: 'HEAD', timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${url}${proc ? `: ${proc.tail()}` : ''}`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resident set size of a process in bytes (0 if it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) consumed so far by a process. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Soft open-files limit of a process, from /proc/PID/limits. */
export function fdLimit(pid: number): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Measures CPU use of a set of pids between `start()` and `stop()`, as percent of one core. */
export class CpuMeter {
  #pids: number[];
  #t0 = 0;
  #c0 = 0;
  constructor(pids: number[]) {
    this.#pids = pids;
  }
  start(): void {
    this.#t0 = performance.now();
    this.#c0 = this.#sum();
  }
  /** Percent of one core used since start. */
  read(): number {
    const dt = (performance.now() - this.#t0) / 1000;
    return dt > 0 ? Math.round(((this.#sum() - this.#c0) / dt) * 1000) / 10 : 0;
  }
  #sum(): number {
    return this.#pids.reduce((acc, pid) => acc + cpuSeconds(pid), 0);
  }
}

/** Busy (non-idle) jiffies and total jiffies of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Whole-machine CPU use between start and stop, in percent of one core (200 = both cores busy). */
export class MachineCpuMeter {
  #t0 = { busy: 0, total: 0 };
  start(): void {
    this.#t0 = machineTicks();
  }
  read(cores: number): number {
    const t = machineTicks();
    const total = t.total - this.#t0.total;
    return total > 0 ? Math.round(((t.busy - this.#t0.busy) / total) * cores * 1000) / 10 : 0;
  }
}

/** Direct children of a process (Linux /proc), e.g. the workers of a cluster primary. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}
