/** A throwaway redis-server on a free port, for the systems that need one. */
import { execFileSync } from 'node:child_process';
import { freePort, spawnProcess, sleep, type Spawned } from './proc.ts';
import { connect } from 'node:net';

export interface RedisServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Undefined when redis-server is installed, else why not. */
export function redisMissing(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server not installed';
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const proc: Spawned = spawnProcess('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start: ${proc.tail()}`);
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}`, pid: proc.child.pid ?? 0, stop: () => proc.stop() };
}
