/** Idle scale: server RSS with 0, N1, N2... open subscribers that receive nothing. */
import { LoadPool, workersFor } from '../loadgen/pool.ts';
import { rssBytes, sleep } from '../lib/proc.ts';
import { round, type Row, type Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/idle';
const SETTLE_MS = 2_000;
/**
 * Steady state: V8's memory reducer collects the connection burst's garbage only after some
 * quiet seconds (measured: Herald 12.5 KB/conn after 2 s, 10.0 after 10 s, flat to 30 s;
 * Express 19.3 → 12.1 and Socket.IO 13.9 → 12.1 only by 30 s). Both figures are reported.
 */
const STEADY_MS = 30_000;
/** Descriptors a server keeps for itself (listener, logs, Redis, epoll...). */
const FD_RESERVE = 200;

export const idle: Scenario = async (ctx) => {
  const levels = [...ctx.config.idleLevels].sort((a, b) => a - b);
  const rows: Row[] = [];
  const sys = await ctx.start();
  const processes = sys.connectionProcesses ?? sys.target.nodes.length;
  const capacity = (sys.fdLimit - FD_RESERVE) * processes;
  const reachable = levels.filter((n) => n <= capacity);
  const pool = await LoadPool.create(workersFor(Math.max(0, ...reachable)));
  const rss = (): number => sys.pids().reduce((a, p) => a + rssBytes(p), 0);
  try {
    await sleep(SETTLE_MS);
    const base = rss();
    let open = 0;
    for (const level of levels) {
      const params = { subscribers: level };
      if (level > capacity) {
        rows.push({ scenario: 'idle', system: ctx.systemName, run: ctx.run, params, metrics: {}, note: `skipped: ${processes} server process${processes > 1 ? 'es' : ''}, each may hold ${sys.fdLimit} descriptors (ulimit -n)` });
        continue;
      }
      let connectSeconds = 0;
      if (level > open) {
        const r = await pool.open(sys.target, level - open, TOPIC, false, 120_000);
        connectSeconds = round(r.ms / 1000, 1);
        open += r.live;
        if (r.live < level - (open - r.live)) {
          rows.push({ scenario: 'idle', system: ctx.systemName, run: ctx.run, params, metrics: {}, note: `only ${open}/${level} live (${r.firstError ?? 'timeout'})` });
          break;
        }
      }
      await sleep(SETTLE_MS);
      const now = rss();
      const metrics: Record<string, number> = { rssMB: round(now / 2 ** 20, 1), connectSeconds };
      if (level > 0) {
        metrics.kbPerConn = round((now - base) / level / 1024, 2);
        await sleep(STEADY_MS - SETTLE_MS);
        const steady = rss();
        metrics.rssSteadyMB = round(steady / 2 ** 20, 1);
        metrics.kbPerConnSteady = round((steady - base) / level / 1024, 2);
      }
      ctx.log(`idle ${ctx.systemName} ${level}: RSS ${metrics.rssMB} MB${level > 0 ? `, ${metrics.kbPerConn} KB/conn after 2 s, ${metrics.kbPerConnSteady} after 30 s` : ''}`);
      rows.push({ scenario: 'idle', system: ctx.systemName, run: ctx.run, params, metrics });
    }
  } finally {
    await pool.close();
    await sys.stop();
  }
  return rows;
};
