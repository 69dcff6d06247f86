import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { BatchedStream } from './batched-stream.ts';
import { WriteBatch } from './write-batch.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A writable that records each call its owner's writes turn into (as a socket's syscalls). */
class RecordingStream extends Writable {
  readonly calls: string[][] = [];
  constructor(highWaterMark = 16_384) {
    super({ highWaterMark });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.calls.push([chunk.toString()]);
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.calls.push(chunks.map((c) => c.chunk.toString()));
    cb();
  }
}

test('writes of one turn are held, counted as queued, and leave in one write when the batch flushes', async () => {
  const stream = new RecordingStream();
  const out = new BatchedStream(stream, new WriteBatch());
  out.write(bytes('a'));
  out.write(bytes('bc'));
  assert.equal(out.queuedBytes, 3, 'held bytes count as queued');
  assert.equal(out.needsDrain, true, 'held bytes always end in a drained callback');
  assert.deepEqual(stream.calls, [], 'nothing leaves synchronously');
  await nextTurn();
  assert.deepEqual(stream.calls, [['abc']]);
  assert.equal(out.queuedBytes, 0);
});

test('a response head written directly while held leaves in the same write as the first held bytes', async () => {
  const stream = new RecordingStream();
  const out = new BatchedStream(stream, new WriteBatch());
  out.holdDirectWrites();
  stream.write('HTTP/1.1 200 OK\r\n\r\n');
  out.write(bytes(':\n\n'));
  assert.deepEqual(stream.calls, [], 'the head waits for the flush');
  await nextTurn();
  assert.deepEqual(stream.calls, [['HTTP/1.1 200 OK\r\n\r\n', ':\n\n']], 'one vectored write');
});

test('a held head with nothing else to send still leaves at the flush', async () => {
  const stream = new RecordingStream();
  const out = new BatchedStream(stream, new WriteBatch());
  out.holdDirectWrites();
  stream.write('head');
  await nextTurn();
  assert.deepEqual(stream.calls, [['head']]);
  stream.write('later');
  assert.deepEqual(stream.calls, [['head'], ['later']], 'the stream is no longer corked');
});

test('onceDrained while bytes are held is settled by the flush when the stream took them', async () => {
  const stream = new RecordingStream();
  const out = new BatchedStream(stream, new WriteBatch());
  out.write(bytes('x'));
  let drained = false;
  out.onceDrained(() => (drained = true));
  await nextTurn();
  await new Promise((r) => process.nextTick(r));
  assert.equal(drained, true);
});

test('held bytes are forgotten when the stream is cut, and nothing is written to a destroyed stream', async () => {
  const stream = new RecordingStream();
  const out = new BatchedStream(stream, new WriteBatch());
  out.write(bytes('gone'));
  out.discard();
  assert.equal(out.queuedBytes, 0);
  out.write(bytes('also gone'));
  stream.destroy();
  await nextTurn();
  assert.deepEqual(stream.calls, []);
});
