/** Fan-out: one topic, N subscribers, publisher at several rates. */
import { LoadPool, workersFor } from '../loadgen/pool.ts';
import { sleep } from '../lib/proc.ts';
import { measureDeliveries } from './measure.ts';
import type { Row, Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/fanout';

export const fanout: Scenario = async (ctx) => {
  const rows: Row[] = [];
  for (const level of ctx.config.fanout) {
    const sys = await ctx.start();
    const pool = await LoadPool.create(workersFor(level.subscribers));
    try {
      const opened = await pool.open(sys.target, level.subscribers, TOPIC, false, 90_000);
      ctx.log(`fanout ${ctx.systemName} ${level.subscribers} subs: ${opened.live} live in ${Math.round(opened.ms)} ms`);
      if (opened.live < level.subscribers) {
        rows.push({
          scenario: 'fanout', system: ctx.systemName, run: ctx.run,
          params: { subscribers: level.subscribers, rate: 0 }, metrics: {},
          note: `only ${opened.live}/${level.subscribers} subscribers live (${opened.firstError ?? 'timeout'})`,
        });
        continue;
      }
      await sleep(500);
      for (const rate of level.rates) {
        const m = await measureDeliveries(sys, pool, rate, ctx.config.publishSeconds, level.subscribers, ctx.config.drainMs, () => TOPIC);
        ctx.log(`  rate ${rate}: pub ${m.publishRate}/s (${m.publishFailed} failed) ${m.deliveriesPerSec}/s delivered ${(m.deliveredFraction * 100).toFixed(1)}% p99 ${m.p99} ms srv ${m.serverCpu}% gen ${m.loadgenCpuMax}% pub ${m.publisherCpu}% machine ${m.machineCpu}%`);
        const { firstError, ...metrics } = m;
        const row: Row = { scenario: 'fanout', system: ctx.systemName, run: ctx.run, params: { subscribers: level.subscribers, rate }, metrics: { ...metrics, workers: pool.size } };
        if (firstError) row.note = `publish error: ${firstError}`;
        rows.push(row);
        await sleep(300);
      }
    } finally {
      await pool.close();
      await sys.stop();
    }
  }
  return rows;
};
