/**
 * Reconnect storm: C clients on one topic while updates keep flowing; all drop at once and
 * reconnect immediately with Last-Event-ID (SSE header; `lastEventId` in the WebSocket
 * `subscribe` op). Measures time until all are live again and updates missed (each client
 * checks the sequence numbers in the payloads). `storm` uses SSE, `ws-storm` WebSocket.
 */
import { LoadPool, workersFor } from '../loadgen/pool.ts';
import { Publisher } from '../loadgen/publisher.ts';
import { sleep } from '../lib/proc.ts';
import { extraParams, type PickTarget } from './fanout.ts';
import { round, type Row, type Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/storm';
const BEFORE_MS = 2_000;
const AFTER_MS = 3_000;

export const storm: Scenario = stormOver('storm', (sys) => sys.target);
export const wsStorm: Scenario = stormOver('ws-storm', (sys) => sys.wsTarget);

function stormOver(scenario: string, pickTarget: PickTarget): Scenario {
  return async (ctx) => {
    const { rate, timeoutMs: STORM_TIMEOUT_MS } = ctx.config.storm;
    const clients = Number(process.env.BENCH_STORM_CLIENTS ?? ctx.config.storm.clients);
    const params = { clients, rate, ...extraParams(scenario) };
    const sys = await ctx.start();
    const target = pickTarget(sys);
    if (!target) {
      await sys.stop();
      return [];
    }
    const pool = await LoadPool.create(workersFor(clients, 2));
    const publisher = new Publisher(sys);
    try {
      const opened = await pool.open(target, clients, TOPIC, false, 90_000);
      if (opened.live < clients) {
        return [
          {
            scenario,
            system: ctx.systemName,
            run: ctx.run,
            params,
            metrics: {},
            note: `only ${opened.live}/${clients} live (${opened.firstError ?? 'timeout'})`,
          },
        ];
      }
      // Publishing runs through the whole storm; stopped explicitly, bounded by its duration.
      // One request in flight keeps updates in order, so a sequence gap is a real loss.
      const pub = publisher.paced(rate, BEFORE_MS + STORM_TIMEOUT_MS + AFTER_MS, () => TOPIC, 1);
      await sleep(BEFORE_MS);
      const trace = process.env.BENCH_DEBUG === '1' ? traceMetrics(sys.publishNode, ctx.log) : undefined;
      const result = await pool.storm(STORM_TIMEOUT_MS);
      trace?.stop();
      ctx.log(
        `${scenario} ${ctx.systemName}: ${result.live}/${clients} live again in ${Math.round(result.ms)} ms, ${result.errors} connect errors${result.firstError ? ` (${result.firstError})` : ''}`,
      );
      await sleep(AFTER_MS);
      publisher.stopPaced();
      const published = await pub;
      await published.settled;
      await sleep(2_000);
      const gaps = await pool.gaps(publisher.lastSeq);
      ctx.log(
        `  missed ${gaps.missed} (${gaps.clientsWithGaps} clients), duplicates ${gaps.duplicates}, published ${published.sent}`,
      );
      if (process.env.BENCH_DEBUG === '1') for (const line of gaps.samples) ctx.log(`  gap client: ${line}`);
      const row: Row = {
        scenario,
        system: ctx.systemName,
        run: ctx.run,
        params,
        metrics: {
          allLiveSeconds: result.failed === 0 ? round(result.ms / 1000, 2) : Number.NaN,
          missed: gaps.missed,
          clientsWithGaps: gaps.clientsWithGaps,
          duplicates: gaps.duplicates,
          published: published.sent,
          publishFailed: published.failed,
        },
      };
      const notes: string[] = [];
      if (result.failed > 0)
        notes.push(`${result.failed} clients not live after ${STORM_TIMEOUT_MS / 1000} s`);
      if (!sys.resumes) notes.push('no resume: Last-Event-ID ignored');
      if (notes.length) row.note = notes.join('; ');
      return [row];
    } finally {
      publisher.stopPaced();
      publisher.close();
      await pool.close();
      await sys.stop();
    }
  };
}

/** BENCH_DEBUG=1: the hub's own counters every 2 s during the storm (Herald only; others 404). */
function traceMetrics(node: { host: string; port: number }, log: (msg: string) => void): { stop(): void } {
  const wanted =
    /^herald_(connections_active|resumes_total|slow_consumer_actions_total|disconnects_total|deliveries_total|connections_opened_total)\b/;
  const timer = setInterval(() => {
    fetch(`http://${node.host}:${node.port}/metrics`, { signal: AbortSignal.timeout(1_500) })
      .then((r) => r.text())
      .then((text) =>
        log(
          `  metrics ${text
            .split('\n')
            .filter((l) => wanted.test(l))
            .join(' | ')}`,
        ),
      )
      .catch((err: unknown) => log(`  metrics: ${String(err)}`));
  }, 2_000);
  return { stop: () => clearInterval(timer) };
}
