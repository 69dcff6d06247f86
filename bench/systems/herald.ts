/** Herald: one node on the memory broker, or two nodes sharing a Redis. */
import { SignJWT } from 'jose';
import { fdLimit, freePort, spawnProcess, waitForHttp, type Spawned } from '../lib/proc.ts';
import { redisMissing, startRedis, type RedisServer } from '../lib/redis.ts';
import { MERCURE_SUBSCRIBE, mercureBatch, mercureForm, type Endpoint, type RunningSystem, type SystemUnderTest } from './types.ts';

const JWT_KEY = 'herald-bench-key-0123456789abcdef0123456789abcdef';

async function publisherToken(): Promise<string> {
  return new SignJWT({ mercure: { publish: ['*'], subscribe: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(JWT_KEY));
}

async function startNode(name: string, extra: string[]): Promise<{ proc: Spawned; node: Endpoint }> {
  const port = await freePort();
  // Connection open/close log lines cost a lot at 10 000 connections; the baselines log nothing.
  const logLevel = process.env.BENCH_HERALD_LOG ?? 'warn';
  const args = ['bin/herald.js', 'serve', '--port', String(port), '--host', '127.0.0.1', '--jwt-key', JWT_KEY, '--anonymous', '--log-level', logLevel, ...extra];
  const proc = spawnProcess(name, process.execPath, args, { env: { ...process.env, NODE_ENV: 'production' } });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, node: { host: '127.0.0.1', port } };
}

function running(name: string, procs: Spawned[], nodes: Endpoint[], token: string, redis?: RedisServer): RunningSystem {
  const pids = procs.map((p) => p.child.pid ?? 0);
  const auth = { authorization: `Bearer ${token}` };
  return {
    name,
    target: { kind: 'sse', nodes, pathTemplate: MERCURE_SUBSCRIBE },
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
      return running('herald-redis-2n', started, [a.node, b.node], await publisherToken(), redis);
    } catch (err) {
      await Promise.all(started.map((p) => p.stop()));
      await redis.stop();
      throw err;
    }
  },
};
