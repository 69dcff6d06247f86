// Real Redis and PostgreSQL servers for the examples, each on a free port with its data in a
// temporary folder, stopped (and the folder removed) by `stop()`. The examples use them the way
// the seed projects used docker-compose services.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/redis-server.ts';

// The same throwaway redis-server the tests use (a free port, nothing saved to disk).
export { startRedis } from '../../test/support/redis-server.ts';

export interface ServerProcess {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
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
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    const done = () => (cleanup(), resolve());
    const fail = (e: Error) => (cleanup(), reject(e));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
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

const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/**
 * A throwaway PostgreSQL cluster (`initdb` + `postgres`) on a free port. PostgreSQL refuses to
 * run as root, so as root both commands run as the `postgres` user in a folder it owns.
 */
export async function startPostgres(): Promise<ServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-example-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, id('-u'), id('-g'));
  }
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? spawn('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(join(PG_BIN, cmd), args, { stdio: ['ignore', 'pipe', 'pipe'] });

  const data = join(dir, 'data');
  const init = run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    init.stdout?.on('data', (c: Buffer) => (output += String(c)));
    init.stderr?.on('data', (c: Buffer) => (output += String(c)));
    init.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`initdb failed (${code}):\n${output}`)),
    );
  });
  const child = run('postgres', [
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
  try {
    await waitFor(child, /database system is ready to accept connections/, 'postgres');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
