/**
 * Load-generator check: the saturated fan-out with one and with two generator processes.
 * If two processes do not deliver more, the generator was not the bottleneck. Run over SSE
 * and, for systems with Herald's WebSocket dialect, over WebSocket too (its own client).
 */
import { LoadPool } from '../loadgen/pool.ts';
import { sleep } from '../lib/proc.ts';
import { measureDeliveries } from './measure.ts';
import type { Row, Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/check';
/** The fastest systems are where a slow generator would show first. */
const CHECKED = new Set(['herald', 'nchan']);

export const loadgenCheck: Scenario = async (ctx) => {
  if (!CHECKED.has(ctx.systemName)) return [];
  const { subscribers, rate } = ctx.config.loadgenCheck;
  const rows: Row[] = [];
  for (const transport of ['sse', 'ws'] as const)
    for (const workers of [1, 2]) {
      const sys = await ctx.start();
      const target =
        transport === 'sse' ? sys.target : sys.wsTarget?.kind === 'ws' ? sys.wsTarget : undefined;
      if (!target) {
        await sys.stop();
        break;
      }
      const pool = await LoadPool.create(workers);
      try {
        await pool.open(target, subscribers, TOPIC, false, 60_000);
        await sleep(500);
        const m = await measureDeliveries(
          sys,
          pool,
          rate,
          ctx.config.publishSeconds,
          subscribers,
          ctx.config.drainMs,
          () => TOPIC,
        );
        ctx.log(
          `loadgen-check ${ctx.systemName} ${transport} ${workers} worker(s): ${m.deliveriesPerSec}/s gen ${m.loadgenCpuMax}% srv ${m.serverCpu}%`,
        );
        rows.push({
          scenario: 'loadgen-check',
          system: ctx.systemName,
          run: ctx.run,
          params: { workers, subscribers, rate, transport },
          metrics: {
            deliveriesPerSec: m.deliveriesPerSec,
            loadgenCpuMax: m.loadgenCpuMax,
            serverCpu: m.serverCpu,
            machineCpu: m.machineCpu,
          },
        });
      } finally {
        await pool.close();
        await sys.stop();
      }
    }
  return rows;
};
