// The batch worker, run as its own process: moves up to 50 messages (or what came in 2 s) from
// the pending list to a processing list, inserts them into PostgreSQL, and only then drops the
// processing list. A worker killed mid-batch finds its batch there when it starts again; the
// insert skips ids already stored, so nothing is lost and nothing is stored twice.
import { Redis } from 'ioredis';
import pg from 'pg';
import { hubPublisher } from '../shared/publisher.ts';
import { metricsTopic, PENDING, PROCESSING, type QueuedMessage } from './queue.ts';

const env = (name: string) => process.env[name] ?? (console.error(`${name} is not set`), process.exit(2));
const BATCH_SIZE = 50;
const BATCH_WAIT_MS = 2000;
// Test knobs that widen the crash windows (a slow database, a slow network); 0 in real use.
const SLOW_INSERT_MS = Number(process.env['SLOW_INSERT_MS'] ?? 0);
const SLOW_ACK_MS = Number(process.env['SLOW_ACK_MS'] ?? 0);

const redis = new Redis(env('REDIS_URL'));
const observer = redis.duplicate(); // the blocking BLMOVE holds `redis`; this one reads queue depth
const db = new pg.Client(env('DATABASE_URL'));
// The database went away under the worker: say so and stop (a new worker recovers the batch).
db.on('error', (e) => {
  console.error(`database connection lost: ${e.message}`);
  process.exit(1);
});
await db.connect();
const publish = hubPublisher(env('HUB_URL'), env('HUB_TOKEN'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let stopping = false;
function stop() {
  stopping = true;
  // The current batch finishes; if Redis or PostgreSQL is gone too, do not wait forever.
  setTimeout(() => process.exit(1), 5000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Started with a stdin pipe from the app: when the app goes away, so does the worker.
process.stdin.on('end', stop).resume();

async function nextBatch(): Promise<string[]> {
  const leftover = await redis.lrange(PROCESSING, 0, -1);
  if (leftover.length > 0) {
    console.log(`recovering ${leftover.length} messages from an interrupted batch`);
    return leftover;
  }
  const batch: string[] = [];
  const deadline = Date.now() + BATCH_WAIT_MS;
  while (batch.length < BATCH_SIZE && !stopping) {
    const wait = batch.length === 0 ? 1 : (deadline - Date.now()) / 1000;
    if (wait <= 0) break;
    const item = await redis.blmove(PENDING, PROCESSING, 'RIGHT', 'LEFT', Math.max(wait, 0.01));
    if (item === null && batch.length === 0) return []; // idle: look at `stopping` again
    if (item !== null) batch.push(item);
  }
  return batch;
}

let stored = 0; // rows stored since the last report

async function store(batch: string[]): Promise<{ total_messages: string; total_batches: string }> {
  const rows = batch.map((raw) => JSON.parse(raw) as QueuedMessage);
  console.log(`inserting batch of ${rows.length}`);
  await db.query('BEGIN');
  try {
    const inserted = await db.query(
      `INSERT INTO messages (id, user_id, channel_id, content, created_at)
       SELECT id, user_id, channel_id, content, created_at
       FROM jsonb_to_recordset($1::jsonb)
         AS m(id uuid, user_id integer, channel_id integer, content text, created_at timestamptz)
       ON CONFLICT (id) DO NOTHING`,
      [JSON.stringify(rows)],
    );
    const totals = await db.query(
      `UPDATE pipeline_totals SET total_messages = total_messages + $1, total_batches = total_batches + 1
       RETURNING total_messages, total_batches`,
      [inserted.rowCount ?? 0],
    );
    if (SLOW_INSERT_MS) await sleep(SLOW_INSERT_MS);
    await db.query('COMMIT');
    stored += inserted.rowCount ?? 0;
    console.log(`committed batch of ${rows.length} (${inserted.rowCount} new)`);
    return totals.rows[0];
  } catch (e) {
    await db.query('ROLLBACK');
    throw e;
  }
}

let totals = (await db.query('SELECT total_messages, total_batches FROM pipeline_totals')).rows[0] as {
  total_messages: string;
  total_batches: string;
};
let lastSent = '';
let lastSentAt = 0;

/**
 * Publishes the numbers as a merge patch on the metrics topic when they changed, and every 2 s
 * anyway (the hub recomputes the rate on each patch, so an idle pipeline's rate falls to 0).
 * The totals are absolute (exact, from the database); `$inc` of `stored` feeds the hub's 10 s
 * rate window.
 */
async function report(): Promise<void> {
  const totalMessages = Number(totals.total_messages);
  const totalBatches = Number(totals.total_batches);
  const metrics = {
    totalMessages,
    totalBatches,
    avgBatchSize: totalBatches ? Math.round((totalMessages / totalBatches) * 10) / 10 : 0,
    queueDepth: await observer.llen(PENDING),
    inFlight: await observer.llen(PROCESSING),
  };
  const json = JSON.stringify(metrics);
  if (json === lastSent && stored === 0 && Date.now() - lastSentAt < 2000) return;
  [lastSent, lastSentAt] = [json, Date.now()];
  const patch = { ...metrics, $inc: { stored }, $rate: { stored: 10 } };
  stored = 0;
  await publish([{ topics: [metricsTopic], patch }]).catch((e: unknown) =>
    console.error(`metrics not published: ${e}`),
  );
}

// The tick's report is kept so stopping waits for it: quitting Redis under a report in
// flight would reject its read (an unhandled "Connection is closed" on Ctrl-C).
let reporting: Promise<void> = Promise.resolve();
const ticker = setInterval(() => {
  reporting = reporting.then(report).catch((e: unknown) => console.error(`metrics not read: ${e}`));
}, 500);
while (!stopping) {
  const batch = await nextBatch();
  if (batch.length === 0) continue;
  totals = await store(batch);
  if (SLOW_ACK_MS) await sleep(SLOW_ACK_MS);
  await redis.del(PROCESSING); // the batch is stored: forget it
  await report();
}
clearInterval(ticker);
await reporting;
await Promise.all([db.end(), redis.quit(), observer.quit()]);
process.exit(0); // stdin is still open
