import assert from 'node:assert/strict';
import { test } from 'node:test';
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

const options = { maxBufferedBytes: 1024, onOverflow: () => {}, shutdownRetryMs: 1000 };

test('nothing is written before the response head: a resuming subscriber still reading history gets no heartbeat', () => {
  const channel = new RecordingChannel();
  const sink = new SseSink(channel, options);
  sink.heartbeat();
  sink.notice(HubEvent.stats, {});
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
