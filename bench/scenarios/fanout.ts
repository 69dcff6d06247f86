/**
 * Fan-out: one topic, N subscribers, publisher at several rates. `fanout` uses each system's
 * SSE subscribers; `ws-fanout` the same cells over WebSocket (Herald's `/ws` dialect,
 * Socket.IO's websocket transport), skipping systems without one, so both land in one table.
 */
import { LoadPool, workersFor } from '../loadgen/pool.ts';
import { sleep } from '../lib/proc.ts';
import { measureDeliveries } from './measure.ts';
import type { SubscribeTarget, RunningSystem } from '../systems/types.ts';
import type { Row, Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/fanout';

/** Which of a system's endpoints a scenario's subscribers use; undefined = not applicable. */
export type PickTarget = (sys: RunningSystem) => SubscribeTarget | undefined;

export const fanout: Scenario = fanoutOver('fanout', (sys) => sys.target);
export const wsFanout: Scenario = fanoutOver('ws-fanout', (sys) => sys.wsTarget);

function fanoutOver(scenario: string, pickTarget: PickTarget): Scenario {
  return async (ctx) => {
    const rows: Row[] = [];
    for (const level of ctx.config.fanout) {
      const sys = await ctx.start();
      const target = pickTarget(sys);
      if (!target) {
        await sys.stop();
        return [];
      }
      const pool = await LoadPool.create(workersFor(level.subscribers));
      try {
        const opened = await pool.open(target, level.subscribers, TOPIC, false, 90_000);
        ctx.log(
          `${scenario} ${ctx.systemName} ${level.subscribers} subs: ${opened.live} live in ${Math.round(opened.ms)} ms`,
        );
        if (opened.live < level.subscribers) {
          rows.push({
            scenario,
            system: ctx.systemName,
            run: ctx.run,
            params: { subscribers: level.subscribers, rate: 0, ...extraParams(scenario) },
            metrics: {},
            note: `only ${opened.live}/${level.subscribers} subscribers live (${opened.firstError ?? 'timeout'})`,
          });
          continue;
        }
        await sleep(500);
        for (const rate of level.rates) {
          const m = await measureDeliveries(
            sys,
            pool,
            rate,
            ctx.config.publishSeconds,
            level.subscribers,
            ctx.config.drainMs,
            () => TOPIC,
          );
          ctx.log(
            `  rate ${rate}: pub ${m.publishRate}/s (${m.publishFailed} failed) ${m.deliveriesPerSec}/s delivered ${(m.deliveredFraction * 100).toFixed(1)}% p50 ${m.p50} p99 ${m.p99} ms srv ${m.serverCpu}% ${m.cpuUsPerDelivery} µs/delivery ${m.bytesPerDelivery} B/delivery gen ${m.loadgenCpuMax}% pub ${m.publisherCpu}% machine ${m.machineCpu}%`,
          );
          const { firstError, ...metrics } = m;
          const row: Row = {
            scenario,
            system: ctx.systemName,
            run: ctx.run,
            params: { subscribers: level.subscribers, rate, ...extraParams(scenario) },
            metrics: { ...metrics, workers: pool.size },
          };
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
}

/** WebSocket cells say whether the clients offered permessage-deflate (BENCH_WS_DEFLATE=1). */
export function extraParams(scenario: string): Record<string, string> {
  if (!scenario.startsWith('ws-')) return {};
  return { deflate: process.env.BENCH_WS_DEFLATE === '1' ? 'offered' : 'off' };
}
