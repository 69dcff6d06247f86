import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * How tests run the CLI: the TypeScript sources through tsx, with the flag bin/herald.js sets,
 * so a test never runs a stale dist/ (test/package/ checks the built package itself).
 */
export const HERALD_CLI: readonly string[] = [
  process.execPath,
  '--max-semi-space-size=2',
  '--import',
  'tsx',
  new URL('../../src/cli/main.ts', import.meta.url).pathname,
];

export interface HubProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Every stdout line (JSON logs) seen so far. */
  logs: string[];
  stderr: string;
  /** SIGTERM (to the whole process group) and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves once stderr contains the text. */
  waitForStderr(text: string | RegExp): Promise<void>;
  /** Resolves with the exit code (null when killed by a signal) once the process ended. */
  exited: Promise<number | null>;
  /** Resident set size of the hub process in bytes (Linux /proc). */
  rss(): number;
  /** Last-resort cleanup: SIGKILL if still running. */
  kill(): void;
}

/** The arguments every test hub starts with: a free port on 127.0.0.1, signed with `key`. */
export function localHubArgs(key: string): string[] {
  return ['--port', '0', '--host', '127.0.0.1', '--jwt-key', key];
}

/**
 * Starts `herald serve ...args` as a child process (the way users run it) and resolves once
 * its "listening" log line gives the URL. Pass `--port 0` to get a free port.
 */
export async function startHubProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  command: readonly string[] = HERALD_CLI,
): Promise<HubProcess> {
  const child = spawn(command[0]!, [...command.slice(1), 'serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so stop() reaches the hub even behind a wrapper such as npx.
    detached: true,
  });
  const logs: string[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: a hub that never said "listening" may still hold ports and CPU.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      reject(new Error(`hub did not start in 20 s; stderr: ${stderr}`));
    }, 20_000);
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const j = JSON.parse(line) as { event?: string; url?: string };
        if (j.event === 'listening' && j.url) {
          clearTimeout(timer);
          resolve(j.url);
        }
      } catch {
        /* not a log line */
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  const port = Number(new URL(url).port);
  const proc: HubProcess = {
    child,
    url: url.replace('localhost', '127.0.0.1'),
    port,
    logs,
    get stderr() {
      return stderr;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      try {
        process.kill(-child.pid!, signal);
      } catch {
        child.kill(signal);
      }
      const [code] = (await exited) as [number | null];
      return code;
    },
    exited,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    waitForStderr(text: string | RegExp) {
      const has = () => (typeof text === 'string' ? stderr.includes(text) : text.test(stderr));
      if (has()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`stderr never showed ${String(text)}: ${stderr}`)),
          10_000,
        );
        const onData = () => {
          if (has()) {
            clearTimeout(timer);
            child.stderr!.off('data', onData);
            resolve();
          }
        };
        child.stderr!.on('data', onData);
      });
    },
  };
  return proc;
}

/** Runs a herald CLI command to completion. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(HERALD_CLI[0]!, [...HERALD_CLI.slice(1), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Resolves once `count` "listening" lines were logged (with `--workers`, each worker logs one). */
export function listening(hub: HubProcess, count: number): Promise<void> {
  const enough = () => hub.logs.filter((l) => l.includes('"event":"listening"')).length >= count;
  if (enough()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fewer than ${count} workers listening`)), 20_000);
    const onData = () =>
      setImmediate(() => {
        if (!enough()) return;
        clearTimeout(timer);
        hub.child.stdout!.off('data', onData);
        resolve();
      });
    hub.child.stdout!.on('data', onData);
  });
}

/**
 * `herald serve --workers N` on this machine's loopback (info logs, so the workers' "listening"
 * lines can be counted), resolved once every worker listens. `args` are the test's own flags.
 */
export async function startWorkersHub(
  key: string,
  workers: number,
  args: readonly string[],
): Promise<HubProcess> {
  const hub = await startHubProcess([
    ...localHubArgs(key),
    ...args,
    '--workers',
    String(workers),
    '--log-level',
    'info',
  ]);
  await listening(hub, workers);
  return hub;
}
