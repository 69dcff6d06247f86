import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { publishJson, publisherToken, startTestHub, hubUrl } from '../../test/support/hub-fixture.ts';
import { SseConnection } from '../../test/support/sse-client.ts';
import { WriteBatch, type BatchedWriter } from './write-batch.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

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
  await new Promise((resolve) => setImmediate(resolve));
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
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['flushed']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['flushed', 'flushed']);
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
