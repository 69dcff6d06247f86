// Real Redis and PostgreSQL servers for the examples, each on a free port (or the one asked
// for) with its data in a temporary folder, stopped (and the folder removed) by `stop()`.
//
// Both run in their own process group (`detached`): Ctrl-C in a terminal signals the whole
// foreground group, and a database that shut down on its own before the app had closed its
// connections would make the app fail on its way out. The app stops them itself, last.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from '../../test/support/redis-server.ts';

export { freePort };

export interface ServerProcess {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** The port to listen on; 0 or absent: a free one. */
  port?: number;
}

/** Resolves when `ready` appears in the process output; rejects if it exits or takes over 20 s. */
function waitFor(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`${what} did not start in 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      if (ready.test(output)) done();
    };
    const onExit = (code: number | null) => fail(new Error(`${what} exited (${code}):\n${output}`));
    const onError = (e: Error) => fail(new Error(`${what} could not be started: ${e.message}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const done = () => (cleanup(), resolve());
    const fail = (e: Error) => (cleanup(), reject(e));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(force), resolve()));
    child.kill(signal);
  });
}

/** Output is read until the server is ready, then drained so a full pipe never blocks it. */
function drain(child: ChildProcess): void {
  child.stdout?.resume();
  child.stderr?.resume();
}

const portOf = async (opts: ServerOptions) => opts.port || (await freePort());

/** `redis-server` on a free port (or `opts.port`), nothing saved to disk. */
export async function startRedis(opts: ServerOptions = {}): Promise<ServerProcess> {
  const port = await portOf(opts);
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  await waitFor(child, /Ready to accept connections/, `redis-server on port ${port}`);
  drain(child);
  // If this process exits without stop() (an uncaught error), the server does not outlive it.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop: () => (process.off('exit', orphanGuard), stopProcess(child, 'SIGTERM')),
  };
}

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const hasServer = (dir: string) => isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'postgres'));

export interface PostgresLookup {
  env?: NodeJS.ProcessEnv;
  /** `pg_config --bindir`, or undefined when there is no pg_config. */
  pgConfigBindir?: () => string | undefined;
  /** Where distributions install versioned servers (Debian: /usr/lib/postgresql/<version>/bin). */
  versionsRoot?: string;
}

function pgConfigBindir(): string | undefined {
  try {
    return execFileSync('pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The folder holding PostgreSQL's `initdb` and `postgres`: `PG_BIN` if set, else
 * `pg_config --bindir`, else the real folder of an `initdb` or `pg_ctl` on PATH (Debian links
 * them from /usr/local/bin or /usr/bin, without `postgres` beside them), else the newest
 * /usr/lib/postgresql/<version>/bin. Throws saying what to install or set.
 */
export function findPostgresBin(lookup: PostgresLookup = {}): string {
  const env = lookup.env ?? process.env;
  const explicit = env['PG_BIN'];
  if (explicit) {
    if (hasServer(explicit)) return explicit;
    throw new Error(`PG_BIN=${explicit} holds no initdb and postgres executables`);
  }
  const fromConfig = (lookup.pgConfigBindir ?? pgConfigBindir)();
  if (fromConfig && hasServer(fromConfig)) return fromConfig;
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean))
    for (const tool of ['initdb', 'pg_ctl']) {
      const path = join(dir, tool);
      if (!isExecutable(path)) continue;
      const real = dirname(realpathSync(path));
      if (hasServer(real)) return real;
    }
  const root = lookup.versionsRoot ?? '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root);
  } catch {
    // no such folder: not a Debian-style install
  }
  const newest = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'))
    .find(hasServer);
  if (newest) return newest;
  throw new Error(
    'PostgreSQL not found: install it (Debian/Ubuntu: apt install postgresql) or set PG_BIN to the folder holding initdb and postgres',
  );
}

/**
 * A throwaway PostgreSQL cluster (`initdb` + `postgres`) on a free port (or `opts.port`).
 * PostgreSQL refuses to run as root, so as root both commands run as the `postgres` user in a
 * folder it owns.
 */
export async function startPostgres(opts: ServerOptions = {}): Promise<ServerProcess> {
  const bin = findPostgresBin();
  const port = await portOf(opts);
  const dir = mkdtempSync(join(tmpdir(), 'herald-example-pg-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? spawn('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        })
      : spawn(join(bin, cmd), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });

  const data = join(dir, 'data');
  let child: ChildProcess;
  try {
    if (asRoot) {
      const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
      chownSync(dir, id('-u'), id('-g'));
    }
    const init = run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await new Promise<void>((resolve, reject) => {
      let output = '';
      init.stdout?.on('data', (c: Buffer) => (output += String(c)));
      init.stderr?.on('data', (c: Buffer) => (output += String(c)));
      init.once('error', (e) => reject(new Error(`initdb could not be started: ${e.message}`)));
      init.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (${code}):\n${output}`)),
      );
    });
    child = run('postgres', [
      '-D',
      data,
      '-k',
      dir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-c',
      'fsync=off',
    ]);
    await waitFor(child, /database system is ready to accept connections/, `postgres on port ${port}`);
    drain(child);
  } catch (e) {
    removeDir();
    throw e;
  }
  // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions and exit. It goes to the
  // postmaster itself (its pid is the first line of postmaster.pid): runuser does not pass it on.
  const shutDown = () => {
    try {
      process.kill(Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT');
    } catch {
      child.kill('SIGINT');
    }
  };
  // If this process exits without stop() (an uncaught error), the server does not outlive it.
  process.once('exit', shutDown);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    process: child,
    async stop() {
      process.off('exit', shutDown);
      shutDown();
      await stopProcess(child, 'SIGINT');
      removeDir();
    },
  };
}
