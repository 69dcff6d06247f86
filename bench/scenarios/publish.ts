/** Publish throughput: single form-encoded updates vs JSON batches, flat out. */
import { LoadPool } from '../loadgen/pool.ts';
import { Publisher } from '../loadgen/publisher.ts';
import { CpuMeter, sleep } from '../lib/proc.ts';
import { round, type Row, type Scenario } from './types.ts';

const TOPIC = 'https://bench.herald.local/publish';
const SINGLE_CONCURRENCY = 16;
const BATCH_CONCURRENCY = 4;

export const publish: Scenario = async (ctx) => {
  const { seconds, batch } = ctx.config.publish;
  const sys = await ctx.start();
  const pool = await LoadPool.create(1);
  const rows: Row[] = [];
  try {
    await pool.open(sys.target, 1, TOPIC, false, 30_000);
    for (const mode of ['single', 'batch'] as const) {
      const params = { mode: mode === 'single' ? 'single' : `batch of ${batch}` };
      if (mode === 'batch' && !sys.batchRequest) {
        rows.push({ scenario: 'publish', system: ctx.systemName, run: ctx.run, params, metrics: {}, note: 'no batch publish API' });
        continue;
      }
      const publisher = new Publisher(sys);
      const cpu = new CpuMeter(sys.pids());
      cpu.start();
      const r = await publisher.flood(seconds * 1000, mode === 'single' ? SINGLE_CONCURRENCY : BATCH_CONCURRENCY, mode === 'single' ? 1 : batch, () => TOPIC);
      const serverCpu = cpu.read();
      publisher.close();
      ctx.log(`publish ${ctx.systemName} ${params.mode}: ${r.rate} updates/s (${r.failed} failed) pub CPU ${r.cpuPercent}% srv ${serverCpu}%`);
      const row: Row = {
        scenario: 'publish',
        system: ctx.systemName,
        run: ctx.run,
        params,
        metrics: {
          updatesPerSec: r.rate,
          requestsPerSec: round(r.rate / (mode === 'single' ? 1 : batch)),
          failed: r.failed,
          publisherCpu: r.cpuPercent,
          serverCpu,
        },
      };
      if (r.firstError) row.note = `error: ${r.firstError}`;
      rows.push(row);
      await sleep(1_000);
    }
  } finally {
    await pool.close();
    await sys.stop();
  }
  return rows;
};
