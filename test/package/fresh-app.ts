/**
 * A new application in a folder of its own under the OS temp dir, with Herald installed from the
 * packed tarball (`npm pack`), never from this working tree: what a user gets from the registry.
 * scripts/test.mjs packs once for every package test (HERALD_TARBALL); run alone, a test packs.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after } from 'node:test';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);

let packed: string | undefined;

/** Path of herald-<version>.tgz: HERALD_TARBALL, or packed now from a fresh build. */
export function packedTarball(): string {
  if (process.env['HERALD_TARBALL']) return process.env['HERALD_TARBALL'];
  if (packed) return packed;
  const dir = mkdtempSync(join(tmpdir(), 'herald-pack-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  packed = join(dir, r.stdout.trim().split('\n').pop()!);
  return packed;
}

export interface FreshApp {
  dir: string;
  /** Runs a command in the app folder to completion; rejects on a non-zero exit, with its output. */
  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }>;
  /** Starts a long-running command in its own process group (stop it with `stop`). */
  start(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Writes files (paths relative to the app folder). */
  write(files: Record<string, string>): void;
  /** Removes the folder. */
  remove(): void;
}

export interface FreshAppOptions {
  /** package.json "type"; default "module". */
  type?: 'module' | 'commonjs';
  /** Registry packages besides Herald, `name@version`. */
  install?: string[];
  /** Files to write before installing. */
  files?: Record<string, string>;
  /** A package.json to start from (an example's own); Herald and `install` are added to it. */
  packageJson?: Record<string, unknown>;
}

/** Creates the folder, writes package.json and `files`, and installs the tarball plus `install`. */
export async function freshApp(name: string, options: FreshAppOptions = {}): Promise<FreshApp> {
  const dir = mkdtempSync(join(tmpdir(), `herald-app-${name}-`));
  const app: FreshApp = {
    dir,
    async run(cmd, args, env = {}) {
      try {
        return await exec(cmd, args, {
          cwd: dir,
          env: { ...process.env, ...env },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 480_000,
        });
      } catch (e) {
        const err = e as Error & { stdout?: string; stderr?: string };
        throw new Error(
          `${cmd} ${args.join(' ')} failed in ${dir}: ${err.message}\n${err.stdout}\n${err.stderr}`,
          {
            cause: e,
          },
        );
      }
    },
    start(cmd, args, env = {}) {
      return spawn(cmd, args, {
        cwd: dir,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
    },
    write(files) {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  app.write({
    'package.json': JSON.stringify(
      {
        name: `fresh-${name}`,
        private: true,
        version: '1.0.0',
        type: options.type ?? 'module',
        ...options.packageJson,
      },
      null,
      2,
    ),
    ...options.files,
  });
  // A user's install: the tarball as `herald`, registry packages by exact version.
  await app.run('npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--save-exact',
    '--loglevel=error',
    packedTarball(),
    ...(options.install ?? []),
  ]);
  return app;
}

const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * SIGTERM to the process group of a `start`ed command (npx and what it started), then waits
 * until no process of the group is left; SIGKILL to those still there after `graceMs`.
 */
export async function stopProcess(child: ChildProcess, graceMs = 30_000): Promise<void> {
  const pid = child.pid!;
  if (!groupAlive(pid)) return;
  process.kill(-pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(-pid, 'SIGKILL');
      throw new Error(`process group ${pid} still ran ${graceMs} ms after SIGTERM (killed)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves with the first stdout/stderr match of `pattern` (rejects if the process exits first). */
export function waitForOutput(child: ChildProcess, pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`no ${pattern} in ${ms} ms; output: ${seen}`)), ms);
    const onData = (d: Buffer): void => {
      seen += String(d);
      const m = pattern.exec(seen);
      if (m) done(undefined, m);
    };
    const onExit = (code: number | null): void =>
      done(new Error(`exited (${code}) before ${pattern}: ${seen}`));
    function done(err?: Error, m?: RegExpMatchArray): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
