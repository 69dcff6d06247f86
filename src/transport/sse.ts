import type { CloseReason, OpenInfo, Sink } from '../hub/sink.ts';
import { httpChunk, type EncodedNotice, type EncodedUpdate } from '../protocol/frames.ts';
import { idToHeader } from '../protocol/header-value.ts';
import { SHUTDOWN_NOTICE, slowConsumerNotice, TOKEN_EXPIRED_NOTICE } from '../protocol/notices.ts';
import { SSE_HEARTBEAT } from '../protocol/sse-encode.ts';
import type { ByteChannel } from './byte-channel.ts';

export interface SseSinkOptions {
  /** Bytes queued in user space for this socket before a write reports it over budget. */
  maxBufferedBytes: number;
  /** `retry:` sent with the shutdown and slow-consumer notices so clients come back. */
  shutdownRetryMs: number;
  /** Extra response headers (CORS). */
  headers?: Record<string, string>;
}

const HEARTBEAT_CHUNK = httpChunk(SSE_HEARTBEAT);
/** How long a slow consumer's socket may take to drain its final bytes before it is cut. */
const SLOW_CLOSE_GRACE_MS = 5_000;

/**
 * An SSE stream over any byte channel (HTTP/1.x socket, HTTP/2 stream, web stream). Every
 * subscriber is written the same prebuilt bytes; nothing is encoded per connection. Reports
 * back-pressure to the hub (see the `Sink` contract), which decides what a slow client gets.
 */
export class SseSink implements Sink {
  readonly transport = 'sse' as const;
  readonly #channel: ByteChannel;
  /** Extra response headers, until the head is sent. */
  #headers: Record<string, string> | undefined;
  readonly #shutdownRetryMs: number;
  readonly #chunked: boolean;
  #ended = false;
  /** Headers sent. Until then nothing may be written (a resuming subscriber is still reading history). */
  #opened = false;
  /**
   * Never below the socket's high-water mark: past it a write has returned false, so 'drain'
   * is sure to fire once the client catches up (the `drop` policy waits for it).
   */
  readonly #budget: number;
  /** What `onceDrained` registered, until the channel drains (or a heartbeat finds it empty). */
  #drainWaiter: (() => void) | undefined;

  constructor(channel: ByteChannel, options: SseSinkOptions) {
    this.#channel = channel;
    this.#headers = options.headers;
    this.#shutdownRetryMs = options.shutdownRetryMs;
    this.#budget = Math.max(options.maxBufferedBytes, channel.highWaterMark);
    this.#chunked = channel.chunked;
  }

  get bufferedBytes(): number {
    return this.#channel.queuedBytes;
  }

  open(info: OpenInfo): void {
    if (this.#ended) return;
    const headers: Record<string, string> = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0',
      Pragma: 'no-cache',
      Expires: '0',
      'X-Accel-Buffering': 'no',
      ...this.#headers,
    };
    this.#headers = undefined;
    if (info.resumedFrom !== undefined) {
      // Ids are the publisher's choice (`заказ-1`): sent as UTF-8 bytes, never a throwing write.
      headers['Last-Event-ID'] = headers['Mercure-Last-Event-ID'] = idToHeader(info.resumedFrom);
    }
    this.#channel.start(headers);
    this.#opened = true;
    // A first comment tells the client the subscription is live before anything is published.
    this.#write(this.#chunked ? HEARTBEAT_CHUNK : SSE_HEARTBEAT);
  }

  send(update: EncodedUpdate): boolean {
    if (this.#ended) return true;
    return this.#write(this.#chunked ? update.sseChunk : update.sse);
  }

  notice(notice: EncodedNotice, retry?: number): boolean {
    if (this.#ended || !this.#opened) return true;
    return this.#write(this.#chunked ? notice.sseChunk(retry) : notice.sse(retry));
  }

  onceDrained(fn: () => void): void {
    if (this.#ended) return;
    this.#drainWaiter = fn;
    if (this.#channel.needsDrain) this.#channel.onceDrained(() => this.#drained());
  }

  #drained(): void {
    const fn = this.#drainWaiter;
    this.#drainWaiter = undefined;
    if (fn && !this.#ended) fn();
  }

  heartbeat(): void {
    if (this.#ended || !this.#opened) return;
    // A channel that did not need a 'drain' when the waiter came never fires one: catch up here.
    if (this.#drainWaiter && this.#channel.queuedBytes === 0) this.#drained();
    if (this.#channel.queuedBytes > 0) return;
    this.#write(this.#chunked ? HEARTBEAT_CHUNK : SSE_HEARTBEAT);
  }

  close(reason: CloseReason, farewell?: EncodedNotice): void {
    if (this.#ended) return;
    if (!this.#opened) {
      // No response head went out yet: there is no stream to end politely.
      this.#ended = true;
      this.#channel.destroy();
      return;
    }
    const retry = this.#shutdownRetryMs;
    if (reason === 'token-expired') this.notice(farewell ?? TOKEN_EXPIRED_NOTICE);
    else if (reason === 'shutdown') this.notice(farewell ?? SHUTDOWN_NOTICE, retry);
    else if (reason === 'slow-consumer') this.notice(farewell ?? slowConsumerNotice(undefined), retry);
    this.#ended = true;
    this.#drainWaiter = undefined;
    if (reason === 'error') {
      this.#channel.destroy();
      return;
    }
    if (reason === 'slow-consumer') {
      // The queue is already at its budget and nothing more is added: a client that is merely
      // slow gets the final event; one that stopped reading is cut after the grace period.
      const cut = setTimeout(destroyChannel, SLOW_CLOSE_GRACE_MS, this.#channel);
      cut.unref();
      this.#channel.onceClosed(() => clearTimeout(cut));
    }
    this.#channel.end();
  }

  /** Returns false when the queue is over the budget after this write. */
  #write(bytes: Uint8Array): boolean {
    const channel = this.#channel;
    if (channel.closed) return true;
    channel.write(bytes);
    return channel.queuedBytes <= this.#budget;
  }
}

function destroyChannel(channel: ByteChannel): void {
  channel.destroy();
}
