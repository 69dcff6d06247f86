// Real Redis Cluster and Sentinel set-ups for tests, built from redis-server processes on
// free ports (never the standard ones). Each starter resolves once the topology serves
// writes, and its stop() removes every process and data directory it made.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startRedis, type TestRedis } from './redis-server.ts';

const run = promisify(execFile);

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 20_000,
  });
  return stdout;
}

/** Polls `check` (a redis-cli probe, no event exists for it) until true; bounded. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TestRedisCluster {
  /** Every redis-server of the cluster: primaries first, then replicas (as created). */
  nodes: TestRedis[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...` (every node as a seed). */
  url: string;
  /** The node currently serving `slot` as primary. */
  primaryOf(slot: number): Promise<TestRedis>;
  /** Resolves once every slot is served again (after a failover), as seen by `via`. */
  waitHealthy(via?: TestRedis): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `primaries` primaries with `replicas` replicas each, created with
 * `redis-cli --cluster create`. The node timeout is short (1 s) so a killed primary's replica
 * takes over within about two seconds.
 */
export async function startRedisCluster(
  options: { primaries?: number; replicas?: number; args?: string[] } = {},
): Promise<TestRedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicas ?? 1;
  const count = primaries * (1 + replicas);
  const started = await Promise.allSettled(
    Array.from({ length: count }, () =>
      startRedis({
        // The bus port defaults to port + 10 000, which may be taken (or above 65 535): name
        // a free one.
        args: async () => [
          '--cluster-port',
          String(await freePort()),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '1000',
          // A replica takes over however long it was cut off: tests kill primaries on purpose.
          '--cluster-replica-validity-factor',
          '0',
          ...(options.args ?? []),
        ],
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // The servers that did start would otherwise keep this test process alive.
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    const cluster: TestRedisCluster = {
      nodes,
      url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
      async primaryOf(slot) {
        // CLUSTER NODES, asked of the first node that answers: each primary and its slot ranges.
        let out = '';
        for (const n of nodes) {
          out = await cli(n.port, 'cluster', 'nodes').catch(() => '');
          if (out !== '') break;
        }
        for (const line of out.split('\n')) {
          const f = line.trim().split(' ');
          if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
          const port = Number(f[1]!.split('@')[0]!.split(':')[1]);
          for (const r of f.slice(8)) {
            const [a, b] = r.split('-').map(Number);
            if (slot >= a! && slot <= (b ?? a!)) {
              const node = nodes.find((n) => n.port === port);
              if (node) return node;
            }
          }
        }
        throw new Error(`no primary serves slot ${slot}`);
      },
      async waitHealthy(via) {
        const probes = via ? [via] : nodes;
        await until(async () => {
          for (const n of probes) {
            const info = await cli(n.port, 'cluster', 'info').catch(() => '');
            if (info.includes('cluster_state:ok')) return true;
          }
          return false;
        }, 'cluster_state:ok');
      },
      stop,
    };
    await until(async () => {
      for (const n of nodes)
        if (!(await cli(n.port, 'cluster', 'info')).includes('cluster_state:ok')) return false;
      return true;
    }, 'every node to report cluster_state:ok');
    return cluster;
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface TestSentinel {
  primary: TestRedis;
  replica: TestRedis;
  sentinelPorts: number[];
  /** `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/herald-primary` */
  url: string;
  /** The port the sentinels currently name as primary. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

export const SENTINEL_SERVICE = 'herald-primary';

/**
 * A Sentinel-managed primary: one primary, one replica, three sentinels (quorum 2) that
 * declare the primary down after 1 s and fail over.
 */
export async function startSentinel(): Promise<TestSentinel> {
  const primary = await startRedis();
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const dir = mkdtempSync(join(tmpdir(), 'herald-sentinel-'));
  const sentinels: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      sentinels.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all([primary.stop(), replica.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => (await cli(replica.port, 'info', 'replication')).includes('master_link_status:up'),
      'the replica to sync',
    );
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      ports.push(port);
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_SERVICE} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_SERVICE} 1000`,
          `sentinel failover-timeout ${SENTINEL_SERVICE} 5000`,
          `sentinel parallel-syncs ${SENTINEL_SERVICE} 1`,
          '',
        ].join('\n'),
      );
      const p = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'ignore'] });
      sentinels.push(p);
    }
    for (const port of ports)
      await until(
        async () =>
          (await cli(port, 'sentinel', 'replicas', SENTINEL_SERVICE)).includes(String(replica.port)),
        `sentinel on ${port} to see the replica`,
      );
    const primaryPort = async () => {
      for (const port of ports) {
        try {
          const out = await cli(port, 'sentinel', 'get-master-addr-by-name', SENTINEL_SERVICE);
          const p = Number(out.trim().split('\n')[1]);
          if (p > 0) return p;
        } catch {
          // ask the next sentinel
        }
      }
      throw new Error('no sentinel names a primary');
    };
    return {
      primary,
      replica,
      sentinelPorts: ports,
      url: `redis+sentinel://${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${SENTINEL_SERVICE}`,
      primaryPort,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
