import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'herald.js');

/** A `herald serve` child process: its URL, its stdout log lines, its memory and its exit. */
export interface HubProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every stdout line so far (pino JSON). */
  lines: string[];
  /** Raw stdout and stderr text so far. */
  stdout(): string;
  stderr(): string;
  /** Resident set size of the hub process in bytes (Linux /proc). */
  rss(): number;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `herald serve --port 0 --host 127.0.0.1 ...args` and waits until it listens (it learns
 * the URL from the `listening` log line, so the log level must be info or lower).
 */
export async function startHubProcess(args: string[], timeoutMs = 15_000): Promise<HubProcess> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  const lines: string[] = [];
  let partial = '';
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start: ${err}${out}`)), timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (err += d));
    child.stdout!.on('data', (d: string) => {
      out += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.includes('"listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited (${code}) before listening: ${err}${out}`));
    });
  });
  let url: string;
  try {
    url = await listening;
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    url,
    port: Number(new URL(url).port),
    child,
    lines,
    stdout: () => out,
    stderr: () => err,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    },
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
