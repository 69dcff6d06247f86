import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EncodedNotice, EncodedUpdate } from '../protocol/frames.ts';
import { HubEvent } from '../protocol/update.ts';
import type { ByteChannel } from './byte-channel.ts';
import { SseSink } from './sse.ts';

/** Records what the sink asks of its channel (the sink's own seam). */
class RecordingChannel implements ByteChannel {
  readonly chunked = false;
  queuedBytes = 0;
  readonly highWaterMark = 16 * 1024;
  readonly needsDrain = false;
  closed = false;
  headers: Record<string, string> | undefined;
  writes: string[] = [];
  ended = false;
  start(headers: Record<string, string>) {
    this.headers = headers;
  }
  write(bytes: Uint8Array) {
    this.writes.push(new TextDecoder().decode(bytes));
  }
  onceDrained() {}
  onceClosed() {}
  end() {
    this.ended = true;
  }
  destroy() {
    this.closed = true;
  }
}

const options = { maxBufferedBytes: 1024, shutdownRetryMs: 1000 };

test('nothing is written before the response head: a resuming subscriber still reading history gets no heartbeat', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.heartbeat();
  sink.notice(new EncodedNotice(HubEvent.stats, {}));
  assert.deepEqual(channel.writes, []);
  sink.open({ subscriberId: 's', gap: false, selectors: ['t'] });
  sink.heartbeat();
  assert.deepEqual(channel.writes, [':\n\n', ':\n\n']);
  assert.equal(channel.headers?.['Content-Type'], 'text/event-stream; charset=utf-8');
});

test('closing before the head went out cuts the connection instead of writing a body', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.close('shutdown');
  assert.equal(channel.closed, true);
  assert.deepEqual(channel.writes, []);
});

test('shutdown after open sends a final event with retry, then ends the stream', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.open({ subscriberId: 's', gap: false, selectors: ['t'] });
  sink.close('shutdown');
  assert.match(channel.writes.at(-1)!, /^event: herald.shutdown\nretry: 1000\n/);
  assert.equal(channel.ended, true);
});

const update = (id: string): EncodedUpdate =>
  new EncodedUpdate({ id, topics: ['t'], data: 'x', private: false, position: id, publishedAt: 0 });

test('a write reports when the queue is over the budget (never below the high-water mark), and still goes out', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.open({ subscriberId: 's', gap: false, selectors: ['t'] });
  channel.queuedBytes = channel.highWaterMark;
  assert.equal(sink.send(update('1')), true, 'at the budget is within it');
  channel.queuedBytes = channel.highWaterMark + 1;
  assert.equal(sink.send(update('2')), false);
  assert.equal(sink.notice(new EncodedNotice(HubEvent.gap, {})), false);
  assert.equal(channel.writes.filter((w) => w.startsWith('id: 2')).length, 1, 'the write was queued');
});

test('onceDrained fires once when a heartbeat finds the queue empty, never after close', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.open({ subscriberId: 's', gap: false, selectors: ['t'] });
  let drained = 0;
  channel.queuedBytes = 100;
  sink.onceDrained(() => drained++);
  sink.heartbeat();
  assert.equal(drained, 0, 'bytes are still queued');
  channel.queuedBytes = 0;
  sink.heartbeat();
  sink.heartbeat();
  assert.equal(drained, 1);
  sink.onceDrained(() => drained++);
  sink.close('client');
  sink.heartbeat();
  assert.equal(drained, 1);
});

test('the slow-consumer farewell the hub built is written with retry, then the stream ends', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.open({ subscriberId: 's', gap: false, selectors: ['t'] });
  sink.close('slow-consumer', new EncodedNotice(HubEvent.slowConsumer, { lastEventId: '7' }));
  assert.match(
    channel.writes.at(-1)!,
    /^event: herald.slow-consumer\nretry: 1000\ndata: \{"lastEventId":"7"\}/,
  );
  assert.equal(channel.ended, true);
});
