import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { publishJson, publisherToken, startTestHub, hubUrl } from '../../test/support/hub-fixture.ts';
import { SseConnection } from '../../test/support/sse-client.ts';
import { WriteBatch, type BatchedWriter } from './write-batch.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

class Writer implements BatchedWriter {
  parts: Uint8Array[] = [];
  out: Buffer[] = [];
  flush(batch: WriteBatch): void {
    this.out.push(batch.join(this.parts));
    this.parts = [];
  }
}

test('queued writers are flushed once, after the current turn, in the order they queued', async () => {
  const batch = new WriteBatch();
  const a = new Writer();
  const b = new Writer();
  a.parts.push(bytes('a1'), bytes('a2'));
  batch.add(a);
  b.parts.push(bytes('b1'));
  batch.add(b);
  assert.deepEqual(a.out, [], 'nothing leaves synchronously');
  await nextTurn();
  assert.deepEqual(
    [...a.out, ...b.out].map((x) => x.toString()),
    ['a1a2', 'b1'],
  );
});

test('writers holding the same chunks share one joined buffer; different chunks get their own', () => {
  const batch = new WriteBatch();
  const x = bytes('x');
  const y = bytes('y');
  const first = batch.join([x, y]);
  assert.equal(batch.join([x, y]), first);
  const other = batch.join([x, bytes('y')]);
  assert.notEqual(other, first, 'equal content but other chunks: compared by identity, never assumed');
  assert.equal(other.toString(), 'xy');
  assert.equal(batch.join([x]).toString(), 'x');
});

test('a writer that queues again while being flushed is flushed on the next turn, not lost', async () => {
  const batch = new WriteBatch();
  const seen: string[] = [];
  const again: BatchedWriter = {
    flush(b) {
      seen.push('flushed');
      if (seen.length === 1) b.add(again);
    },
  };
  batch.add(again);
  await nextTurn();
  assert.deepEqual(seen, ['flushed']);
  await nextTurn();
  assert.deepEqual(seen, ['flushed', 'flushed']);
});

/** A writer whose flush takes about `ms` of CPU, as a socket write to a busy kernel does. */
class SlowWriter implements BatchedWriter {
  flushedAt: number[] = [];
  constructor(
    readonly ms: number,
    readonly turn: { n: number },
  ) {}
  flush(): void {
    const end = performance.now() + this.ms;
    while (performance.now() < end);
    this.flushedAt.push(this.turn.n);
  }
}

/**
 * Waits turn by turn (not on a timer: the tests count turns and time pauses) until `done()`,
 * failing after 100 000 turns instead of hanging.
 */
async function turnsUntil(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i === 100_000) throw new Error(`gave up waiting for ${what}`);
    await nextTurn();
  }
}

/** Counts event-loop turns: one increment per check phase, until the test ends. */
function turnCounter(t: TestContext): { n: number; stop(): void } {
  const turn = { n: 0, stop: () => clearImmediate(handle) };
  t.after(() => turn.stop());
  let handle = setImmediate(function tick() {
    turn.n++;
    handle = setImmediate(tick);
  });
  return turn;
}

test('a round over many writers is cut into slices, so the event loop turns in between', async (t) => {
  const batch = new WriteBatch({ sliceMs: 1 });
  const turn = turnCounter(t);
  const writers = Array.from({ length: 200 }, () => new SlowWriter(0.05, turn));
  for (const w of writers) batch.add(w);
  await turnsUntil(() => writers.every((w) => w.flushedAt.length > 0), 'every writer flushed');
  turn.stop();
  const turns = new Set(writers.map((w) => w.flushedAt[0]));
  // 200 × 0.05 ms = 10 ms of flushing in slices of about 1 ms (checked every 32 writers).
  assert.ok(turns.size >= 3, `flushed across ${turns.size} turns`);
  assert.ok(
    writers.every((w) => w.flushedAt.length === 1),
    'each writer flushed exactly once',
  );
  // In queue order: a later writer never goes out in an earlier turn.
  for (let i = 1; i < writers.length; i++)
    assert.ok(writers[i]!.flushedAt[0]! >= writers[i - 1]!.flushedAt[0]!);
});

test('bytes queued for a writer still waiting in the round leave with its pending write', async (t) => {
  const batch = new WriteBatch({ sliceMs: 0 });
  const turn = turnCounter(t);
  const slow = Array.from({ length: 64 }, () => new SlowWriter(0.01, turn));
  const last = new Writer();
  for (const w of slow) batch.add(w);
  last.parts.push(bytes('one'));
  batch.add(last);
  // The round has started (first slice of 32 writers) but has not reached `last` yet.
  await nextTurn();
  assert.equal(last.out.length, 0);
  last.parts.push(bytes('two'));
  await turnsUntil(() => last.out.length > 0, 'the last writer flushed');
  turn.stop();
  assert.deepEqual(
    last.out.map((b) => b.toString()),
    ['onetwo'],
  );
});

test('a heavy round while clients connect and more is queued pauses as long as it took; otherwise nothing waits', async (t) => {
  const batch = new WriteBatch({ sliceMs: 1 });
  const turn = turnCounter(t);
  const heavy = Array.from({ length: 64 }, () => new SlowWriter(0.2, turn));
  const again = new Writer();
  for (const w of heavy) batch.add(w);
  // A client connects and more is queued while the round is running: a storm.
  await nextTurn();
  batch.noteOpened();
  again.parts.push(bytes('behind'));
  batch.add(again);
  await turnsUntil(() => heavy.every((w) => w.flushedAt.length > 0), 'the heavy round');
  const roundEnded = performance.now();
  await turnsUntil(() => again.out.length > 0, 'the round after the pause');
  // The round took at least 64 × 0.2 ms = 12.8 ms and so does the pause (a timer never fires
  // early), measured here from a little after the round ended; an immediate flush takes < 1 ms.
  const paused = performance.now() - roundEnded;
  assert.ok(paused >= 8, `next round after ${paused.toFixed(1)} ms`);

  // The same heavy round with more queued but no newcomer (steady fan-out): no pause.
  for (const w of heavy) batch.add(w);
  await nextTurn();
  const steady = new Writer();
  steady.parts.push(bytes('next update'));
  batch.add(steady);
  await turnsUntil(() => heavy.every((w) => w.flushedAt.length >= 2), 'the second heavy round');
  const turnsBefore = turn.n;
  await turnsUntil(() => steady.out.length > 0, 'the next update');
  assert.ok(turn.n - turnsBefore <= 2, `flushed ${turn.n - turnsBefore} turns after the round`);
});

test('updates dispatched in one turn reach an SSE subscriber in one socket write', async () => {
  const hub = await startTestHub({ anonymous: true });
  const writes = new Map<Socket, number>();
  hub.server.on('connection', (socket: Socket) => {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    writes.set(socket, 0);
    socket.write = ((...args: unknown[]) => {
      writes.set(socket, writes.get(socket)! + 1);
      return write(...args);
    }) as typeof socket.write;
  });
  const conn = await SseConnection.open(hubUrl(hub, '?topic=https://example.com/t'));
  try {
    await conn.live();
    const [sseSocket] = [...writes.keys()];
    const before = writes.get(sseSocket!)!;
    // One JSON batch: three updates dispatched while handling one request.
    const res = await publishJson(
      hub,
      [1, 2, 3].map((n) => ({ topics: ['https://example.com/t'], data: `u${n}` })),
      await publisherToken(),
    );
    assert.equal(res.status, 200);
    await conn.waitFor(() => conn.updates.length === 3, 'three updates');
    assert.deepEqual(
      conn.updates.map((u) => u.data),
      ['u1', 'u2', 'u3'],
    );
    assert.equal(writes.get(sseSocket!)! - before, 1);
  } finally {
    conn.close();
    await hub.close();
  }
});
