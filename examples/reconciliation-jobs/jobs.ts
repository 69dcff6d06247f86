// The reconciliation domain: a job, how an event changes it, and a simulated runner that
// matches ledger rows against a bank statement and reports as it goes. No real-time code here.
import { setTimeout as sleep } from 'node:timers/promises';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface Job {
  id: string;
  tenant: string;
  name: string;
  status: JobStatus;
  summary: { total: number; matched: number; unmatched: number };
  logs: string[];
  errors: string[];
}

/** What the runner reports; `data` always names its job so one stream can carry many jobs. */
export type JobEvent =
  | { type: 'status'; data: { job: string; name: string; status: JobStatus } }
  | { type: 'summary'; data: { job: string } & Job['summary'] }
  | { type: 'log'; data: { job: string; line: string } }
  // Not `error`: EventSource fires its own `error` event when the connection drops.
  | { type: 'job_error'; data: { job: string; message: string } };

/** The page runs the same reducer on what it receives. */
export function applyEvent(job: Job, event: JobEvent): void {
  if (event.type === 'status') job.status = event.data.status;
  else if (event.type === 'summary') {
    const { total, matched, unmatched } = event.data;
    job.summary = { total, matched, unmatched };
  } else if (event.type === 'log') job.logs.push(event.data.line);
  else job.errors.push(event.data.message);
}

export interface RunOptions {
  /** Pause between batches of rows. */
  stepMs: number;
  batches: number;
  signal: AbortSignal;
}

const ROWS_PER_BATCH = 25;

/** Reconciles `job` batch by batch; `report` must resolve once the event is published. */
export async function runJob(
  job: Job,
  report: (event: JobEvent) => Promise<void>,
  { stepMs, batches, signal }: RunOptions,
): Promise<void> {
  const j = job.id;
  const seed = Number(j.replace(/\D/g, ''));
  const total = batches * ROWS_PER_BATCH;
  let matched = 0;
  let unmatched = 0;
  // Every third job comes from a messier bank feed, so some runs fail.
  const missEvery = seed % 3 === 0 ? 19 : 67;
  await report({ type: 'status', data: { job: j, name: job.name, status: 'running' } });
  await report({ type: 'log', data: { job: j, line: `Loaded ${total} ledger rows and the bank statement` } });
  await report({ type: 'summary', data: { job: j, total, matched, unmatched } });
  for (let b = 0; b < batches; b++) {
    await sleep(stepMs, undefined, { signal });
    const first = b * ROWS_PER_BATCH + 1;
    const misses: number[] = [];
    for (let row = first; row < first + ROWS_PER_BATCH; row++)
      if ((row * 31 + seed * 7) % missEvery === 0) misses.push(row);
    matched += ROWS_PER_BATCH - misses.length;
    unmatched += misses.length;
    await report({
      type: 'log',
      data: {
        job: j,
        line: `Rows ${first}-${first + ROWS_PER_BATCH - 1}: ${ROWS_PER_BATCH - misses.length} matched`,
      },
    });
    for (const row of misses) {
      const amount = (((row * 7919) % 100_000) / 100).toFixed(2);
      await report({
        type: 'job_error',
        data: { job: j, message: `Row ${row}: no bank entry for ${amount} EUR` },
      });
    }
    await report({ type: 'summary', data: { job: j, total, matched, unmatched } });
  }
  // More than 3% unmatched needs a person: the job fails and says why.
  const failed = unmatched / total > 0.03;
  await report({
    type: 'log',
    data: {
      job: j,
      line: failed ? `Stopped: ${unmatched} rows unmatched, review needed` : 'Reconciliation finished',
    },
  });
  await report({ type: 'status', data: { job: j, name: job.name, status: failed ? 'failed' : 'completed' } });
}
