import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export interface StartRedisOptions {
  /** `requirepass`: clients must authenticate with this password. */
  password?: string;
  /** Append-only file with fsync on every write, so data survives `kill()` + `restart()`. */
  persistent?: boolean;
  /** Serve TLS only (PEM file paths); the URL becomes `rediss://localhost:port`. */
  tls?: { cert: string; key: string; ca: string };
  /** Extra `redis-server` arguments; a function gets fresh ones on each start attempt. */
  args?: string[] | (() => Promise<string[]>);
}

/** A redis-server child process owned by one test. */
export interface TestRedis {
  port: number;
  /** `redis://[:password@]127.0.0.1:port` (`rediss://...localhost:port` with TLS) */
  url: string;
  /** Graceful stop (SIGTERM), waits for the process to exit, removes its data dir. */
  stop(): Promise<void>;
  /** SIGKILL, waits for the process to exit; data dir kept so `restart()` can reuse it. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (and same data dir) after `kill()`/`stop()`. */
  restart(): Promise<void>;
  /** Process id of the running server (0 while it is stopped): the bench reads its memory. */
  readonly pid: number;
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `redis-server` on a free port, no persistence unless asked, and resolves once it
 * accepts connections. Always `stop()` it (e.g. in `after`).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  // freePort() only says a port was free a moment ago: another test may take it (or, for a
  // cluster node, its bus port) before redis-server binds it. A server that exits before it
  // is ready is started again on fresh ports, a bounded number of times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisOnce(options);
    } catch (e) {
      if (attempt >= 4 || !(e instanceof RedisExitedEarly)) throw e;
    }
  }
}

class RedisExitedEarly extends Error {}

async function startRedisOnce(options: StartRedisOptions): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
  const extra = typeof options.args === 'function' ? await options.args() : (options.args ?? []);
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          options.tls.cert,
          '--tls-key-file',
          options.tls.key,
          '--tls-ca-cert-file',
          options.tls.ca,
          '--tls-auth-clients',
          'no',
        ]
      : []),
    ...extra,
  ];
  let child: ChildProcess | undefined;

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = p;
      let out = '';
      const onData = (b: Buffer) => {
        out += b.toString();
        if (out.includes('Ready to accept connections')) {
          p.stdout!.off('data', onData);
          p.stdout!.resume();
          resolve();
        }
      };
      p.stdout!.on('data', onData);
      p.stderr!.resume();
      p.once('error', reject);
      p.once('exit', (code) => reject(new RedisExitedEarly(`redis-server exited (${code}) before ready:\n${out}`)));
    });

  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const p = child;
      child = undefined;
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill(signal);
    });

  try {
    await launch();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // If this process exits without stop() (an uncaught error), the server does not outlive it.
  const orphanGuard = () => child?.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: options.tls ? `rediss://${auth}localhost:${port}` : `redis://${auth}127.0.0.1:${port}`,
    async stop() {
      process.off('exit', orphanGuard);
      await waitExit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => waitExit('SIGKILL'),
    restart: launch,
    get pid() {
      return child?.pid ?? 0;
    },
  };
}

/**
 * Runs `scenario` twice in the calling test file: on the memory broker and on Redis (a real
 * redis-server started for the file, stopped after it). The scenario gets the hub settings
 * for its broker, as a function since the server starts in the file's `before` hook.
 */
export function onEachBroker(scenario: (name: string, config: () => { redis?: string }) => void): void {
  scenario('memory', () => ({}));
  let redis: TestRedis | undefined;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  scenario('redis', () => ({ redis: redis!.url }));
}
