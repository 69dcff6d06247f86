/** The measuring loop shared by fan-out style scenarios: publish paced, drain, collect. */
import { cpus } from 'node:os';
import { CpuMeter, MachineCpuMeter, rssBytes, sleep } from '../lib/proc.ts';
import type { LoadPool } from '../loadgen/pool.ts';
import { Publisher } from '../loadgen/publisher.ts';
import type { RunningSystem } from '../systems/types.ts';
import { round } from './types.ts';

export interface DeliveryMeasure {
  published: number;
  publishFailed: number;
  publishRate: number;
  deliveries: number;
  expected: number;
  deliveredFraction: number;
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  max: number;
  serverCpu: number;
  /** Server CPU time (all its processes) per delivery, µs: less sensitive to a noisy machine than rates. */
  cpuUsPerDelivery: number;
  /**
   * Bytes the subscribers read per delivery (framing, headers of the transport, compression
   * included); NaN for clients that cannot count them (Socket.IO's own client).
   */
  bytesPerDelivery: number;
  /** Clients whose hub accepted permessage-deflate (WebSocket clients offering it). */
  deflatedClients: number;
  loadgenCpuMax: number;
  publisherCpu: number;
  /** Whole machine, percent of one core: shows other tenants' noise next to our own processes. */
  machineCpu: number;
  serverRssMB: number;
  firstError?: string;
}

/**
 * Publish at `rate` for `seconds`, each update reaching `fanout` subscribers, then wait until
 * every expected delivery arrived, deliveries stop for a while, or `drainMs` passes.
 */
export async function measureDeliveries(
  sys: RunningSystem,
  pool: LoadPool,
  rate: number,
  seconds: number,
  fanout: number,
  drainMs: number,
  topicOf: (seq: number) => string,
): Promise<DeliveryMeasure> {
  const publisher = new Publisher(sys);
  await pool.reset();
  const serverCpu = new CpuMeter(sys.pids());
  serverCpu.start();
  const machine = new MachineCpuMeter();
  machine.start();
  const t0 = performance.now();
  const pub = await publisher.paced(rate, seconds * 1000, topicOf);
  const intended = Math.floor(rate * seconds);
  const expected = intended * fanout;
  let answered = false;
  void pub.settled.then(() => {
    answered = true;
  });
  // The window is publishing time plus at most drainMs; whatever arrives later counts as lost.
  const windowEnd = t0 + seconds * 1000 + drainMs;
  let last = await pool.stats();
  let lastChange = performance.now();
  // CPU figures are read at the last moment deliveries were still arriving, so idle drain time
  // does not dilute them.
  let cpuAtChange = { server: serverCpu.read(), machine: machine.read(cpus().length), gen: last.workerCpu };
  while (last.deliveries < expected && performance.now() < windowEnd && !(answered && performance.now() - lastChange > 1500)) {
    await sleep(200);
    const s = await pool.stats();
    if (s.deliveries !== last.deliveries) {
      lastChange = performance.now();
      cpuAtChange = { server: serverCpu.read(), machine: machine.read(cpus().length), gen: s.workerCpu };
    }
    last = s;
    if (process.env.BENCH_DEBUG) {
      console.log(`    t=${Math.round(performance.now() - t0)} deliveries=${s.deliveries} srv=${serverCpu.read()}% gen=${s.workerCpu.join('/')}% machine=${machine.read(cpus().length)}%`);
    }
  }
  publisher.close();
  const windowMs = Math.max(lastChange, t0 + pub.ms) - t0;
  const h = last.histogram;
  const m: DeliveryMeasure = {
    published: pub.sent,
    publishFailed: pub.failed,
    publishRate: round((pub.sent / seconds)),
    deliveries: last.deliveries,
    expected,
    deliveredFraction: expected > 0 ? round(last.deliveries / expected, 4) : 0,
    deliveriesPerSec: round((last.deliveries / windowMs) * 1000),
    p50: round(h.quantile(0.5), 2),
    p99: round(h.quantile(0.99), 2),
    max: round(h.max, 2),
    serverCpu: cpuAtChange.server,
    cpuUsPerDelivery: last.deliveries > 0 ? round(((cpuAtChange.server / 100) * windowMs * 1000) / last.deliveries, 2) : Number.NaN,
    bytesPerDelivery: last.deliveries > 0 && last.bytes > 0 ? round(last.bytes / last.deliveries, 1) : Number.NaN,
    deflatedClients: last.deflated,
    loadgenCpuMax: Math.max(0, ...cpuAtChange.gen),
    publisherCpu: pub.cpuPercent,
    machineCpu: cpuAtChange.machine,
    serverRssMB: round(sys.pids().reduce((a, p) => a + rssBytes(p), 0) / 2 ** 20, 1),
  };
  if (pub.firstError) m.firstError = pub.firstError;
  return m;
}
