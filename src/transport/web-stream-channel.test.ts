import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebStreamChannel } from './web-stream-channel.ts';

const bytes = (n: number) => new Uint8Array(n).fill(0x61);

function channel(highWaterMark = 1024) {
  const started: Record<string, string>[] = [];
  const ch = new WebStreamChannel({ onStart: (h) => started.push(h), highWaterMark });
  return { ch, started };
}

test('start hands the headers to the adapter once', () => {
  const { ch, started } = channel();
  ch.start({ 'Content-Type': 'text/event-stream' });
  ch.start({ other: 'x' });
  assert.deepEqual(started, [{ 'Content-Type': 'text/event-stream' }]);
  assert.equal(ch.chunked, false, 'a web stream carries raw bytes, never HTTP/1.1 chunk framing');
});

test('unread bytes count as queued; past the high-water mark a drain is awaited and fires when the consumer reads', async () => {
  const { ch } = channel(1024);
  ch.write(bytes(600));
  assert.equal(ch.queuedBytes, 600);
  assert.equal(ch.needsDrain, false);
  ch.write(bytes(600));
  assert.equal(ch.queuedBytes, 1200);
  assert.equal(ch.needsDrain, true);
  let drained = 0;
  ch.onceDrained(() => drained++);
  const reader = ch.stream.getReader();
  assert.equal((await reader.read()).value?.byteLength, 600);
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, 1);
  assert.equal(ch.queuedBytes, 600);
  assert.equal((await reader.read()).value?.byteLength, 600);
  assert.equal(ch.queuedBytes, 0);
  assert.equal(drained, 1, 'a drain listener fires once');
});

test('a consumer that cancels closes the channel and tells its listeners', async () => {
  const { ch } = channel();
  let gone = 0;
  ch.onceClosed(() => gone++);
  ch.write(bytes(10));
  await ch.stream.cancel();
  assert.equal(gone, 1);
  assert.equal(ch.closed, true);
  assert.equal(ch.queuedBytes, 0);
  ch.write(bytes(10)); // ignored, never throws
  let late = 0;
  ch.onceClosed(() => late++);
  await new Promise((r) => queueMicrotask(() => r(undefined)));
  assert.equal(late, 1, 'a listener added after the close is called too');
});

test('end lets the consumer read what is queued, then the stream is done', async () => {
  const { ch } = channel();
  ch.write(bytes(3));
  ch.end();
  assert.equal(ch.closed, true);
  const reader = ch.stream.getReader();
  assert.equal((await reader.read()).value?.byteLength, 3);
  assert.equal((await reader.read()).done, true);
});

test('destroy makes the next read fail', async () => {
  const { ch } = channel();
  ch.write(bytes(3));
  ch.destroy();
  await assert.rejects(ch.stream.getReader().read(), /destroyed/);
});
