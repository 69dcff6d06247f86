/** Herald: one node on the memory broker, or two nodes sharing a Redis. */
import { SignJWT } from 'jose';
import { childPids, fdLimit, freePort, sleep, spawnProcess, waitForHttp, type Spawned } from '../lib/proc.ts';
import { redisMissing, startRedis, type RedisServer } from '../lib/redis.ts';
import {
  MERCURE_SUBSCRIBE,
  mercureBatch,
  mercureForm,
  type Endpoint,
  type RunningSystem,
  type SystemUnderTest,
} from './types.ts';

/** The hub's WebSocket endpoint (`{hub path}/ws`, src/http/ws-upgrade.ts). */
const HERALD_WS_PATH = '/.well-known/mercure/ws';
const JWT_KEY = 'herald-bench-key-0123456789abcdef0123456789abcdef';

export async function publisherToken(): Promise<string> {
  return new SignJWT({ mercure: { publish: ['*'], subscribe: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(JWT_KEY));
}

export async function startNode(name: string, extra: string[]): Promise<{ proc: Spawned; node: Endpoint }> {
  const port = await freePort();
  // Connection open/close log lines cost a lot at 10 000 connections; the baselines log nothing.
  const logLevel = process.env.BENCH_HERALD_LOG ?? 'warn';
  // BENCH_HERALD_NODE_ARGS: extra node flags for the hub process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  // The launcher's own flag (bin/herald.js runs under `node --max-semi-space-size=2`), which
  // `node bin/herald.js` would skip.
  const nodeArgs = ['--max-semi-space-size=2', ...(process.env.BENCH_HERALD_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const args = [
    ...nodeArgs,
    'bin/herald.js',
    'serve',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--jwt-key',
    JWT_KEY,
    '--anonymous',
    '--log-level',
    logLevel,
    // The same resume window as the Nchan config (nchan_message_buffer_length 20000): the
    // storm replays up to ~90 s × 50 updates/s, past the default of 1 000.
    '--history',
    '20000',
    ...extra,
  ];
  const proc = spawnProcess(name, process.execPath, args, {
    env: { ...process.env, NODE_ENV: 'production' },
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, node: { host: '127.0.0.1', port } };
}

export function running(
  name: string,
  procs: Spawned[],
  nodes: Endpoint[],
  token: string,
  redis?: RedisServer,
): RunningSystem {
  const pids = procs.map((p) => p.child.pid ?? 0);
  const auth = { authorization: `Bearer ${token}` };
  return {
    name,
    target: { kind: 'sse', nodes, pathTemplate: MERCURE_SUBSCRIBE },
    wsTarget: { kind: 'ws', nodes, pathTemplate: HERALD_WS_PATH },
    // With two nodes the publisher talks to the first; subscribers alternate between both.
    publishNode: nodes[0] as Endpoint,
    pids: () => (redis ? [...pids, redis.pid] : pids),
    fdLimit: Math.min(...pids.map(fdLimit)),
    resumes: true,
    publishRequest: (topic, data) => mercureForm(topic, data, auth),
    batchRequest: (items) => mercureBatch(items, auth),
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
      await redis?.stop();
    },
  };
}

export const herald: SystemUnderTest = {
  name: 'herald',
  available: () => Promise.resolve(undefined),
  async start() {
    const { proc, node } = await startNode('herald', []);
    return running('herald', [proc], [node], await publisherToken());
  },
};

/**
 * `--workers N`: N hub processes sharing the port, the primary relaying updates (no Redis).
 * `herald-3w` exists for the idle scenario's 50 000 level, past what two processes may open.
 */
export function heraldCluster(workers: number, onlyScenarios?: readonly string[]): SystemUnderTest {
  const name = `herald-${workers}w`;
  return {
    name,
    ...(onlyScenarios ? { onlyScenarios } : {}),
    available: () => Promise.resolve(undefined),
    async start() {
      const { proc, node } = await startNode(name, ['--workers', String(workers)]);
      // /healthz answers once the first worker listens; give the others time to join the
      // round-robin before subscribers connect (bounded; a worker that never starts shows as
      // fewer child processes in the CPU figures).
      for (let i = 0; i < 50 && childPids(proc.child.pid ?? 0).length < workers; i++) await sleep(100);
      await sleep(2_000);
      const sys = running(name, [proc], [node], await publisherToken());
      // The primary, its workers: CPU and memory are measured over all of them.
      return {
        ...sys,
        connectionProcesses: workers,
        pids: () => [proc.child.pid ?? 0, ...childPids(proc.child.pid ?? 0)],
      };
    },
  };
}

export const heraldWorkers = heraldCluster(2);
export const heraldWorkers3 = heraldCluster(3, ['idle']);

export const heraldRedis: SystemUnderTest = {
  name: 'herald-redis-2n',
  async available() {
    const missing = redisMissing();
    if (missing) return missing;
    // The Redis broker may not be built yet: try it once and report why it refused.
    try {
      const sys = await this.start();
      await sys.stop();
      return undefined;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const reason = /--redis[^\n"]*/.exec(msg)?.[0] ?? msg.split('\n')[0] ?? 'failed to start';
      return `herald --redis refused: ${reason.slice(0, 160)}`;
    }
  },
  async start() {
    const redis = await startRedis();
    const started: Spawned[] = [];
    try {
      const a = await startNode('herald-a', ['--redis', redis.url]);
      started.push(a.proc);
      const b = await startNode('herald-b', ['--redis', redis.url]);
      started.push(b.proc);
      const sys = running('herald-redis-2n', started, [a.node, b.node], await publisherToken(), redis);
      // For the capacity scenario: the hub processes apart from Redis, and Redis' INFO counters.
      const nodePids = started.map((p) => p.child.pid ?? 0);
      return { ...sys, nodePids: () => nodePids, redisPorts: [Number(new URL(redis.url).port)] };
    } catch (err) {
      await Promise.all(started.map((p) => p.stop()));
      await redis.stop();
      throw err;
    }
  },
};
