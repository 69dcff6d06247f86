/** A throwaway redis-server on a free port, for the systems that need one. */
import { execFileSync } from 'node:child_process';
import { startRedis as startTestRedis } from '../../test/support/redis-server.ts';

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

/** The tests' redis-server (free port, nothing saved), with its pid for the memory probe. */
export async function startRedis(): Promise<RedisServer> {
  const redis = await startTestRedis();
  return { url: redis.url, pid: redis.pid, stop: () => redis.stop() };
}
