/**
 * `herald-100k`: 100 000 concurrent SSE subscribers on this one machine. A process may hold
 * 20 000 descriptors, so the hub runs as `--workers N` (node:cluster, one port) and the
 * load generator as several processes spreading their sockets over source addresses
 * 127.0.0.2-17 (each address has its own ephemeral port range). Measures the time to connect
 * them all, server memory per connection after 30 s of quiet, then a 1 update/s topic that
 * every subscriber receives: fraction delivered, p50/p99, server CPU per delivery.
 *
 * Herald only (the baselines would need the same multi-process set-up); opt-in by name
 * (BENCH_SCENARIOS=herald-100k). Skipped with a reason when the machine cannot hold it
 * (memory, descriptors, ephemeral ports, source addresses). Every phase is bounded.
 */
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { freemem } from 'node:os';
import { LoadPool, MAX_PER_WORKER, SOURCE_ADDRESSES, workersFor } from '../loadgen/pool.ts';
import { fdLimit, rssBytes, sleep } from '../lib/proc.ts';
import { heraldCluster } from '../systems/herald.ts';
import { measureDeliveries } from './measure.ts';
import { round, type Row, type Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/100k';
/** Server plus generator memory per subscriber, generous (measured: ~10 KB hub, ~6 KB generator, kernel buffers). */
const BYTES_PER_SUBSCRIBER_NEEDED = 48 * 1024;
/** A hub worker fills at most this share of its usable descriptors (cluster round-robin is not exact). */
const WORKER_FILL = 0.85;
const SETTLE_MS = 2_000;

export const herald100k: Scenario = async (ctx) => {
  if (ctx.systemName !== 'herald') return [];
  const cfg = ctx.config.herald100k;
  const subscribers = cfg.subscribers;
  const limit = fdLimit(process.pid);
  // The hub's own reserve (src/cli/descriptor-limit.ts): 5 % of the limit, at least 64.
  const usable = limit - Math.max(64, Math.ceil(limit * 0.05));
  const hubWorkers = cfg.workers ?? Math.max(2, Math.ceil(subscribers / (usable * WORKER_FILL)));
  const params = { subscribers, hubWorkers };
  const row = (metrics: Record<string, number>, note?: string): Row[] => [
    { scenario: 'herald-100k', system: ctx.systemName, run: ctx.run, params, metrics, ...(note ? { note } : {}) },
  ];

  const reason = await cannotHold(subscribers, hubWorkers, usable, limit);
  if (reason) {
    ctx.log(`herald-100k skipped: ${reason}`);
    return row({}, `skipped: ${reason}`);
  }

  const sys = await heraldCluster(hubWorkers).start();
  const pool = await LoadPool.create(workersFor(subscribers));
  const rss = (): number => sys.pids().reduce((a, p) => a + rssBytes(p), 0);
  try {
    await sleep(SETTLE_MS);
    const base = rss();
    const opened = await pool.open(sys.target, subscribers, TOPIC, false, cfg.connectTimeoutMs);
    const connectSeconds = round(opened.ms / 1000, 1);
    ctx.log(`herald-100k: ${opened.live}/${subscribers} live in ${connectSeconds} s over ${hubWorkers} hub workers, ${pool.size} generator processes`);
    if (opened.live < subscribers) {
      return row({ connectSeconds: Number.NaN, live: opened.live }, `only ${opened.live}/${subscribers} live after ${cfg.connectTimeoutMs / 1000} s (${opened.firstError ?? 'timeout'})`);
    }
    await sleep(SETTLE_MS);
    const afterConnect = rss();
    await sleep(Math.max(0, cfg.quietMs - SETTLE_MS));
    const quiet = rss();
    const kbPerConn = round((afterConnect - base) / subscribers / 1024, 2);
    const kbPerConnQuiet = round((quiet - base) / subscribers / 1024, 2);
    ctx.log(`  RSS ${round(quiet / 2 ** 20)} MB: ${kbPerConn} KB/conn after 2 s, ${kbPerConnQuiet} after ${cfg.quietMs / 1000} s quiet`);
    const m = await measureDeliveries(sys, pool, 1, cfg.publishSeconds, subscribers, ctx.config.drainMs, () => TOPIC);
    ctx.log(`  1 update/s for ${cfg.publishSeconds} s: delivered ${(m.deliveredFraction * 100).toFixed(2)}% p50 ${m.p50} p99 ${m.p99} max ${m.max} ms, ${m.cpuUsPerDelivery} µs CPU/delivery, ${m.bytesPerDelivery} B/delivery`);
    const still = (await pool.stats()).live;
    return row(
      {
        connectSeconds,
        connectsPerSec: round(subscribers / (opened.ms / 1000)),
        rssMB: round(quiet / 2 ** 20, 1),
        kbPerConn,
        kbPerConnQuiet,
        published: m.published,
        deliveredFraction: m.deliveredFraction,
        p50: m.p50,
        p99: m.p99,
        max: m.max,
        cpuUsPerDelivery: m.cpuUsPerDelivery,
        bytesPerDelivery: m.bytesPerDelivery,
        liveAtEnd: still,
        generators: pool.size,
        machineCpu: m.machineCpu,
      },
      m.firstError ? `publish error: ${m.firstError}` : undefined,
    );
  } finally {
    await pool.close();
    await sys.stop();
  }
};

/** Why this machine cannot hold `subscribers` connections both ends, or undefined. */
async function cannotHold(subscribers: number, hubWorkers: number, usable: number, limit: number): Promise<string | undefined> {
  if (hubWorkers * usable < subscribers) return `${hubWorkers} hub workers × ${usable} usable descriptors < ${subscribers}`;
  if (limit < MAX_PER_WORKER + 500) return `ulimit -n ${limit} is below one generator process's ${MAX_PER_WORKER} sockets`;
  const need = subscribers * BYTES_PER_SUBSCRIBER_NEEDED;
  if (freemem() < need) return `${round(freemem() / 2 ** 30, 1)} GB free memory, ~${round(need / 2 ** 30, 1)} GB needed`;
  const ports = ephemeralPorts();
  if (ports !== undefined && ports * SOURCE_ADDRESSES.length < subscribers * 1.1) {
    return `${ports} ephemeral ports × ${SOURCE_ADDRESSES.length} source addresses < ${subscribers}`;
  }
  const last = SOURCE_ADDRESSES[SOURCE_ADDRESSES.length - 1] as string;
  const bindable = await canConnectFrom(last);
  if (bindable) return `cannot connect from ${last} (${bindable}): one address has too few ephemeral ports`;
  return undefined;
}

function ephemeralPorts(): number | undefined {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo !== undefined && hi !== undefined ? hi - lo + 1 : undefined;
  } catch {
    return undefined;
  }
}

/** Connects to a throwaway listener from `local`; the error message, or undefined when it works. */
function canConnectFrom(local: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const sock = connect({ host: '127.0.0.1', port, localAddress: local });
      const done = (err?: string): void => {
        clearTimeout(timer);
        sock.destroy();
        server.close();
        resolve(err);
      };
      const timer = setTimeout(() => done('timeout'), 3_000);
      sock.once('connect', () => done());
      sock.once('error', (e) => done(e.message));
    });
  });
}
