/**
 * Capacity: the per-node and per-publish figures docs/scaling.md's capacity model is built
 * from, on one system start:
 *
 * 1. background: Redis traffic with nothing published (cluster ticks, keep-alives);
 * 2. publish: flat-out single and batch publishes to the first node, no subscribers;
 *    publishes/s, hub CPU per publish on the publishing node and on the others;
 * 3. memory: N idle subscribers spread over the nodes, RSS per connection per node;
 * 4. fanout: those N subscribers (`topic=*`) while updates are paced over many topics (so a
 *    cluster's partitions all take a share): deliveries/s per node, per core.
 *
 * Every phase also reads `INFO` on every Redis primary before and after and divides the
 * deltas by what was published: Redis commands, bytes in and out, Redis CPU per publish.
 * BENCH_CAPACITY=SUBSCRIBERS:RATE[,RATE...] sets the idle/fan-out size and rates.
 */
import { LoadPool, workersFor } from '../loadgen/pool.ts';
import { Publisher } from '../loadgen/publisher.ts';
import { CpuMeter, rssBytes, sleep } from '../lib/proc.ts';
import { diff, RedisProbe, totalCalls, type RedisCounters } from '../lib/redis-counters.ts';
import type { RunningSystem } from '../systems/types.ts';
import { measureDeliveries } from './measure.ts';
import { round, type Row, type Scenario, type ScenarioContext } from './types.ts';

const PREFIX = 'https://bench.herald.local/capacity/';
/** Topics the publishes rotate over: enough that every partition of 16 gets a share. */
const TOPICS = 64;
const topicOf = (seq: number): string => `${PREFIX}${seq % TOPICS}`;
const BACKGROUND_MS = 3_000;
const SETTLE_MS = 2_000;
/** Herald's RSS per connection is flat from 10 s of quiet on (bench/README.md, idle). */
const STEADY_MS = 10_000;

interface CapacityConfig {
  subscribers: number;
  rates: number[];
  floodSeconds: number;
}

function capacityConfig(ctx: ScenarioContext): CapacityConfig {
  const spec = process.env.BENCH_CAPACITY;
  const floodSeconds = ctx.config.publish.seconds;
  if (!spec) return ctx.config.quick ? { subscribers: 4_000, rates: [50, 250], floodSeconds } : { subscribers: 10_000, rates: [10, 100], floodSeconds };
  const [subs, rates] = spec.split(':');
  const subscribers = Number(subs);
  const list = (rates ?? '').split(',').map(Number);
  if (!Number.isInteger(subscribers) || subscribers <= 0 || list.some((r) => !(r > 0)))
    throw new Error(`BENCH_CAPACITY: cannot read "${spec}"; expected SUBSCRIBERS:RATE[,RATE...]`);
  return { subscribers, rates: list, floodSeconds };
}

/**
 * Per-publish Redis figures of one phase. Commands count those the scripts run inside Redis
 * as well as the scripts themselves (INFO commandstats counts both). `bgCpu` is Redis' CPU
 * share with nothing published (cron, cluster bus), taken off so that slow phases on a
 * starved machine do not charge it to their few publishes.
 */
function perPublish(d: RedisCounters, published: number, seconds: number, bgCpu: number): { metrics: Record<string, number>; breakdown: string } {
  if (published <= 0) return { metrics: {}, breakdown: '' };
  const metrics: Record<string, number> = {
    redisOpsPerPublish: round(totalCalls(d) / published, 2),
    redisScriptsPerPublish: round((d.calls.evalsha ?? 0) / published, 2),
    redisInBytesPerPublish: round(d.inBytes / published),
    redisOutBytesPerPublish: round(d.outBytes / published),
    redisCpuUsPerPublish: round((Math.max(0, d.cpuSeconds - bgCpu * seconds) * 1e6) / published, 1),
  };
  // On a cluster every stored update is SPUBLISHed once by its publish script; SPUBLISHes
  // beyond that are the merge's ticks (docs/scaling.md), which fade as the rate rises.
  if (d.calls.spublish !== undefined) metrics.ticksPerPublish = round((d.calls.spublish - (d.calls.xadd ?? 0)) / published, 2);
  const breakdown = Object.entries(d.calls)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 7)
    .map(([cmd, n]) => `${cmd} ${(n / published).toFixed(2)}`)
    .join(', ');
  return { metrics, breakdown };
}

/** CPU meters for each hub node apart, and the seconds they used, from /proc. */
function nodeMeters(sys: RunningSystem): { read(): number[] } {
  const pids = sys.nodePids ? sys.nodePids() : sys.pids();
  const meters = pids.map((p) => new CpuMeter([p]));
  for (const m of meters) m.start();
  return { read: () => meters.map((m) => m.read()) };
}

export const capacity: Scenario = async (ctx) => {
  const cfg = capacityConfig(ctx);
  const rows: Row[] = [];
  const sys = await ctx.start();
  const nodes = sys.target.nodes.length;
  const probe = sys.redisPorts ? new RedisProbe(sys.redisPorts) : undefined;
  const row = (params: Record<string, number | string>, metrics: Record<string, number>, note?: string): void => {
    const r: Row = { scenario: 'capacity', system: ctx.systemName, run: ctx.run, params, metrics: { nodes, ...metrics } };
    if (note) r.note = note;
    rows.push(r);
  };
  let pool: LoadPool | undefined;
  /** Redis CPU seconds per second with nothing published. */
  let bgCpu = 0;
  try {
    // 1. What Redis does when nothing is published.
    if (probe) {
      const before = await probe.read();
      await sleep(BACKGROUND_MS);
      const d = diff(await probe.read(), before);
      const s = BACKGROUND_MS / 1000;
      bgCpu = d.cpuSeconds / s;
      row({ phase: 'background' }, { primaries: before.primaries, redisOpsPerSec: round(totalCalls(d) / s), redisInBytesPerSec: round(d.inBytes / s), redisOutBytesPerSec: round(d.outBytes / s), redisCpuPercent: round((d.cpuSeconds / s) * 100, 1) });
    }

    // 2. Publish flat out to the first node; every node still receives every update.
    for (const [mode, concurrency, batch] of [['single', 16, 1], ['batch of 100', 4, 100]] as const) {
      const publisher = new Publisher(sys);
      const before = await probe?.read();
      const p0 = performance.now();
      const cpu = nodeMeters(sys);
      const r = await publisher.flood(cfg.floodSeconds * 1000, concurrency, batch, topicOf);
      const nodeCpu = cpu.read();
      publisher.close();
      // Updates still in flight to the other nodes are part of this phase's cost.
      await sleep(300);
      const after = await probe?.read();
      const rp = before && after ? perPublish(diff(after, before), r.accepted, (performance.now() - p0) / 1000, bgCpu) : undefined;
      const seconds = r.ms / 1000;
      const pubNode = nodeCpu[0] ?? 0;
      const others = nodeCpu.slice(1);
      const otherAvg = others.length ? others.reduce((a, b) => a + b, 0) / others.length : Number.NaN;
      const metrics: Record<string, number> = {
        publishesPerSec: r.rate,
        failed: r.failed,
        publishingNodeCpu: pubNode,
        otherNodeCpu: round(otherAvg, 1),
        publishingNodeCpuUsPerPublish: r.accepted > 0 ? round((pubNode / 100) * seconds * 1e6 / r.accepted, 1) : Number.NaN,
        otherNodeCpuUsPerPublish: r.accepted > 0 ? round((otherAvg / 100) * seconds * 1e6 / r.accepted, 1) : Number.NaN,
        ...rp?.metrics,
      };
      ctx.log(`capacity ${ctx.systemName} publish ${mode}: ${r.rate}/s (${r.failed} failed), node CPU ${nodeCpu.join('/')}%${rp ? `, Redis ${rp.metrics.redisOpsPerPublish} ops (${rp.metrics.redisScriptsPerPublish} scripts), ${rp.metrics.redisInBytesPerPublish} B in, ${rp.metrics.redisOutBytesPerPublish} B out, ${rp.metrics.redisCpuUsPerPublish} µs CPU per publish (${rp.breakdown})` : ''}`);
      row({ phase: 'publish', mode }, metrics, [rp?.breakdown ? `per publish: ${rp.breakdown}` : '', r.firstError ? `error: ${r.firstError}` : ''].filter(Boolean).join('; ') || undefined);
      await sleep(500);
    }

    // 3. Idle subscribers spread over the nodes: RSS per connection.
    const nodePids = sys.nodePids ? sys.nodePids() : sys.pids();
    const rss = (): number[] => nodePids.map(rssBytes);
    await sleep(SETTLE_MS);
    const base = rss();
    const redisMemBefore = (await probe?.read())?.usedMemory;
    pool = await LoadPool.create(workersFor(cfg.subscribers));
    const opened = await pool.open(sys.target, cfg.subscribers, '*', false, 120_000);
    if (opened.live < cfg.subscribers) {
      row({ phase: 'memory', subscribers: cfg.subscribers }, {}, `only ${opened.live}/${cfg.subscribers} live (${opened.firstError ?? 'timeout'})`);
      return rows;
    }
    await sleep(STEADY_MS);
    const now = rss();
    const redisMemAfter = (await probe?.read())?.usedMemory;
    const kb = now.map((v, i) => (v - (base[i] ?? 0)) / 1024 / (cfg.subscribers / nodePids.length));
    const memory: Record<string, number> = {
      kbPerConn: round(kb.reduce((a, b) => a + b, 0) / kb.length, 2),
      nodeRssMB: round(Math.max(...now) / 2 ** 20, 1),
      connectSeconds: round(opened.ms / 1000, 1),
    };
    if (redisMemBefore !== undefined && redisMemAfter !== undefined) memory.redisBytesPerConn = round((redisMemAfter - redisMemBefore) / cfg.subscribers, 1);
    ctx.log(`capacity ${ctx.systemName} memory: ${cfg.subscribers} subscribers, ${kb.map((k) => k.toFixed(1)).join('/')} KB per connection per node after ${STEADY_MS / 1000} s${memory.redisBytesPerConn !== undefined ? `, Redis ${memory.redisBytesPerConn} B per connection` : ''}`);
    row({ phase: 'memory', subscribers: cfg.subscribers }, memory);

    // 4. Fan-out: every subscriber gets every update, updates spread over the topics.
    for (const rate of cfg.rates) {
      const before = await probe?.read();
      const cpu = nodeMeters(sys);
      const t0 = performance.now();
      const m = await measureDeliveries(sys, pool, rate, ctx.config.publishSeconds, cfg.subscribers, ctx.config.drainMs, topicOf);
      const nodeCpu = cpu.read();
      const seconds = (performance.now() - t0) / 1000;
      const after = await probe?.read();
      const rp = before && after ? perPublish(diff(after, before), m.published, (performance.now() - t0) / 1000, bgCpu) : undefined;
      const cpuSecondsAll = nodeCpu.reduce((a, b) => a + b, 0) / 100 * seconds;
      const metrics: Record<string, number> = {
        publishRate: m.publishRate,
        deliveriesPerSec: m.deliveriesPerSec,
        deliveriesPerSecPerNode: round(m.deliveriesPerSec / nodes),
        deliveredFraction: m.deliveredFraction,
        p99: m.p99,
        nodeCpuAvg: round(nodeCpu.reduce((a, b) => a + b, 0) / nodeCpu.length, 1),
        // Hub CPU (all nodes, the whole phase) per delivery; its inverse is deliveries per core-second.
        nodeCpuUsPerDelivery: m.deliveries > 0 ? round((cpuSecondsAll * 1e6) / m.deliveries, 2) : Number.NaN,
        deliveriesPerCoreSec: cpuSecondsAll > 0 ? round(m.deliveries / cpuSecondsAll) : Number.NaN,
        machineCpu: m.machineCpu,
        loadgenCpuMax: m.loadgenCpuMax,
        ...rp?.metrics,
      };
      ctx.log(`capacity ${ctx.systemName} fanout ${cfg.subscribers} × ${rate}/s: ${m.deliveriesPerSec}/s (${(m.deliveredFraction * 100).toFixed(1)}%), node CPU ${nodeCpu.join('/')}%, ${metrics.nodeCpuUsPerDelivery} µs/delivery, machine ${m.machineCpu}%${rp ? `, Redis ${rp.metrics.redisOpsPerPublish} ops, ${rp.metrics.redisOutBytesPerPublish} B out, ${rp.metrics.redisCpuUsPerPublish} µs per publish` : ''}`);
      row({ phase: 'fanout', subscribers: cfg.subscribers, rate }, metrics, [rp?.breakdown ? `per publish: ${rp.breakdown}` : '', m.firstError ? `publish error: ${m.firstError}` : ''].filter(Boolean).join('; ') || undefined);
      await sleep(300);
    }
  } finally {
    await pool?.close();
    probe?.close();
    await sys.stop();
  }
  return rows;
};
