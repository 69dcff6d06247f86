/**
 * Server CPU time per delivery, the figure that survives a noisy shared machine better than
 * deliveries/s: `node --import tsx bench/cost.ts [system] [subscribers] [rate] [seconds]`.
 * Prints µs of server CPU (user + system, all its processes) per delivered update.
 */
import { LoadPool, workersFor } from './loadgen/pool.ts';
import { cpuSeconds, sleep } from './lib/proc.ts';
import { measureDeliveries } from './scenarios/measure.ts';
import { ALL_SYSTEMS } from './systems/index.ts';

const [name = 'herald', subsArg = '1000', rateArg = '1000', secondsArg = '5'] = process.argv.slice(2);
const subscribers = Number(subsArg);
const rates = rateArg.split(',').map(Number);
const seconds = Number(secondsArg);
const system = ALL_SYSTEMS.find((s) => s.name === name);
if (!system) throw new Error(`unknown system ${name}`);
const TOPIC = 'https://bench.herald.local/fanout';

const sys = await system.start();
const pool = await LoadPool.create(workersFor(subscribers));
try {
  const opened = await pool.open(sys.target, subscribers, TOPIC, false, 90_000);
  console.log(`${name}: ${opened.live}/${subscribers} live in ${Math.round(opened.ms)} ms`);
  await sleep(500);
  for (const rate of rates) {
    const cpu0 = sys.pids().reduce((a, p) => a + cpuSeconds(p), 0);
    const m = await measureDeliveries(sys, pool, rate, seconds, subscribers, 3_000, () => TOPIC);
    const cpu = sys.pids().reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
    const us = m.deliveries > 0 ? (cpu * 1e6) / m.deliveries : 0;
    console.log(
      `rate ${rate}: pub ${m.publishRate}/s, ${m.deliveriesPerSec} deliveries/s (${(m.deliveredFraction * 100).toFixed(1)}%), ` +
        `p50 ${m.p50} p99 ${m.p99} ms, server ${m.serverCpu}% cpu, ${us.toFixed(2)} µs cpu/delivery, machine ${m.machineCpu}%`,
    );
  }
} finally {
  await pool.close();
  await sys.stop();
}
