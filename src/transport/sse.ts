import type { CloseReason, OpenInfo, Sink } from '../hub/sink.ts';
import { httpChunk, type EncodedUpdate } from '../protocol/frames.ts';
import { idToHeader } from '../protocol/header-value.ts';
import { encodeSseHubEvent, SSE_HEARTBEAT } from '../protocol/sse-encode.ts';
import { HubEvent, type HubEventName } from '../protocol/update.ts';
import type { ByteChannel } from './byte-channel.ts';

/**
 * What to do with a subscriber whose socket queue is over its byte budget:
 * - `disconnect`: send a final `herald.slow-consumer` event with `retry:`, close; the client
 *   reconnects and resumes from its last id.
 * - `drop`: skip updates while over budget; once the socket drains, send one `herald.dropped`
 *   event saying how many were skipped and the last id written before them.
 */
export type SlowConsumerPolicy = 'disconnect' | 'drop';

export interface SseSinkOptions {
  /** Bytes queued in user space for this socket before the slow-consumer policy applies. */
  maxBufferedBytes: number;
  /** Default `disconnect`. */
  slowConsumer?: SlowConsumerPolicy;
  /** `disconnect` policy: called (once, asynchronously) when the queue went over the budget. */
  onOverflow: () => void;
  /** `drop` policy: called once per drop episode, when the marker is sent, with the count. */
  onDropped?: (count: number) => void;
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
 * subscriber is written the same prebuilt bytes; nothing is encoded per connection.
 */
export class SseSink implements Sink {
  readonly transport = 'sse' as const;
  readonly #channel: ByteChannel;
  readonly #options: SseSinkOptions;
  readonly #chunked: boolean;
  #ended = false;
  /** Headers sent. Until then nothing may be written (a resuming subscriber is still reading history). */
  #opened = false;
  #overflowed = false;
  /**
   * Never below the socket's high-water mark: past it a write has returned false, so 'drain'
   * is sure to fire once the client catches up (the `drop` policy waits for it).
   */
  readonly #budget: number;
  /** `drop` policy: updates skipped in the current episode (0 = not dropping). */
  #dropped = 0;
  /** Id of the last update written, so a `herald.dropped` marker can say where to resume. */
  #lastId: string | undefined;

  constructor(channel: ByteChannel, options: SseSinkOptions) {
    this.#channel = channel;
    this.#options = options;
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
      ...this.#options.headers,
    };
    if (info.resumedFrom !== undefined) {
      // Ids are the publisher's choice (`заказ-1`): sent as UTF-8 bytes, never a throwing write.
      headers['Last-Event-ID'] = headers['Mercure-Last-Event-ID'] = idToHeader(info.resumedFrom);
    }
    this.#channel.start(headers);
    this.#opened = true;
    // A first comment tells the client the subscription is live before anything is published.
    this.#write(this.#chunked ? HEARTBEAT_CHUNK : SSE_HEARTBEAT);
  }

  send(update: EncodedUpdate): void {
    if (this.#ended) return;
    if (this.#options.slowConsumer === 'drop' && (this.#dropped > 0 || this.#overBudget())) {
      if (this.#dropped++ === 0 && this.#channel.needsDrain) this.#channel.onceDrained(this.#onDrain);
      return;
    }
    this.#write(this.#chunked ? update.sseChunk : update.sse);
    this.#lastId = update.update.id;
  }

  /** Updates skipped in the current drop episode. */
  get droppedPending(): number {
    return this.#dropped;
  }

  #overBudget(): boolean {
    return this.#channel.queuedBytes > this.#budget;
  }

  // The socket caught up: tell the client what it missed, then resume normal writes.
  #onDrain = (): void => {
    if (this.#ended || this.#dropped === 0) return;
    const count = this.#dropped;
    this.#dropped = 0;
    this.notice(HubEvent.dropped, {
      dropped: count,
      lastEventId: this.#lastId ?? null,
      reason: 'fell behind; updates after lastEventId were skipped: resume from it to fetch them',
    });
    this.#options.onDropped?.(count);
  };

  notice(type: HubEventName, data: unknown, retry?: number): void {
    if (this.#ended || !this.#opened) return;
    // Hub notices (stats...) are skipped too while the client is behind, except the final ones.
    if (this.#dropped > 0 && type === HubEvent.stats) return;
    const bytes = encodeSseHubEvent(type, data, retry);
    this.#write(this.#chunked ? httpChunk(bytes) : bytes);
  }

  heartbeat(): void {
    if (this.#ended || !this.#opened) return;
    // A budget below the socket's high-water mark never triggers 'drain': catch up here.
    if (this.#dropped > 0 && this.#channel.queuedBytes === 0) this.#onDrain();
    if (this.#channel.queuedBytes > 0) return;
    this.#write(this.#chunked ? HEARTBEAT_CHUNK : SSE_HEARTBEAT);
  }

  close(reason: CloseReason): void {
    if (this.#ended) return;
    if (!this.#opened) {
      // No response head went out yet: there is no stream to end politely.
      this.#ended = true;
      this.#channel.destroy();
      return;
    }
    if (reason === 'token-expired')
      this.notice(HubEvent.tokenExpired, { reason: 'token expired; reconnect with a fresh token' });
    else if (reason === 'shutdown')
      this.notice(
        HubEvent.shutdown,
        { reason: 'hub is restarting; reconnect' },
        this.#options.shutdownRetryMs,
      );
    else if (reason === 'slow-consumer')
      this.notice(
        HubEvent.slowConsumer,
        {
          reason: 'too far behind; reconnect and resume from your last id',
          lastEventId: this.#lastId ?? null,
        },
        this.#options.shutdownRetryMs,
      );
    this.#ended = true;
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

  #write(bytes: Uint8Array): void {
    const channel = this.#channel;
    if (channel.closed) return;
    channel.write(bytes);
    if (this.#options.slowConsumer !== 'drop' && channel.queuedBytes > this.#budget && !this.#overflowed) {
      this.#overflowed = true;
      setImmediate(this.#options.onOverflow);
    }
  }
}

function destroyChannel(channel: ByteChannel): void {
  channel.destroy();
}
