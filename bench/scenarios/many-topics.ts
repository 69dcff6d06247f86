/** Many topics: N topics, one subscriber each, publishes spread round-robin over them. */
import { LoadPool, workersFor } from '../loadgen/pool.ts';
import { sleep } from '../lib/proc.ts';
import { measureDeliveries } from './measure.ts';
import type { Row, Scenario } from './types.ts';

const PREFIX = 'https://bench.herald.local/topics/';

export const manyTopics: Scenario = async (ctx) => {
  const { topics, rates } = ctx.config.manyTopics;
  const rows: Row[] = [];
  const sys = await ctx.start();
  const pool = await LoadPool.create(workersFor(topics));
  try {
    const opened = await pool.open(sys.target, topics, PREFIX, true, 90_000);
    ctx.log(`many-topics ${ctx.systemName}: ${opened.live}/${topics} live in ${Math.round(opened.ms)} ms`);
    if (opened.live < topics) {
      return [{ scenario: 'many-topics', system: ctx.systemName, run: ctx.run, params: { topics, rate: 0 }, metrics: {}, note: `only ${opened.live}/${topics} subscribers live (${opened.firstError ?? 'timeout'})` }];
    }
    await sleep(500);
    for (const rate of rates) {
      const m = await measureDeliveries(sys, pool, rate, ctx.config.publishSeconds, 1, ctx.config.drainMs, (seq) => `${PREFIX}${seq % topics}`);
      ctx.log(`  rate ${rate}: pub ${m.publishRate}/s ${m.deliveriesPerSec}/s delivered ${(m.deliveredFraction * 100).toFixed(1)}% p99 ${m.p99} ms srv ${m.serverCpu}%`);
      const { firstError, ...metrics } = m;
      const row: Row = { scenario: 'many-topics', system: ctx.systemName, run: ctx.run, params: { topics, rate }, metrics };
      if (firstError) row.note = `publish error: ${firstError}`;
      rows.push(row);
      await sleep(300);
    }
  } finally {
    await pool.close();
    await sys.stop();
  }
  return rows;
};
