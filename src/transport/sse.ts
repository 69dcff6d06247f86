import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { CloseReason, OpenInfo, Sink } from '../hub/sink.ts';
import { httpChunk, type EncodedUpdate } from '../protocol/frames.ts';
import { encodeSseHubEvent, SSE_HEARTBEAT } from '../protocol/sse-encode.ts';
import { HubEvent, type HubEventName } from '../protocol/update.ts';

export interface SseSinkOptions {
  /** Bytes queued in user space for this socket before the slow-consumer policy applies. */
  maxBufferedBytes: number;
  /** Called (once, asynchronously) when the socket's queue went over the budget. */
  onOverflow: () => void;
  /** `retry:` sent with the shutdown notice so clients come back after a restart. */
  shutdownRetryMs: number;
  /** Extra response headers (CORS). */
  headers?: Record<string, string>;
}

const HEARTBEAT_CHUNK = httpChunk(SSE_HEARTBEAT);
const END_CHUNK = new TextEncoder().encode('0\r\n\r\n');

/**
 * An SSE stream over an HTTP/1.x response. After the headers it writes prebuilt chunks to the
 * socket directly: every subscriber gets the same bytes, nothing is encoded per socket.
 */
export class SseSink implements Sink {
  readonly transport = 'sse' as const;
  readonly #res: ServerResponse;
  readonly #socket: Socket;
  readonly #options: SseSinkOptions;
  readonly #chunked: boolean;
  #corked = false;
  #ended = false;
  #overflowed = false;

  constructor(res: ServerResponse, options: SseSinkOptions) {
    this.#res = res;
    this.#socket = res.socket as Socket;
    this.#options = options;
    this.#chunked = res.req.httpVersion !== '1.0';
  }

  get bufferedBytes(): number {
    return this.#socket.writableLength;
  }

  open(info: OpenInfo): void {
    if (this.#ended) return;
    const headers: Record<string, string> = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0',
      Pragma: 'no-cache',
      Expires: '0',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
      ...this.#options.headers,
    };
    if (this.#chunked) headers['Transfer-Encoding'] = 'chunked';
    else headers['Connection'] = 'close';
    if (info.resumedFrom !== undefined) {
      headers['Last-Event-ID'] = info.resumedFrom;
      headers['Mercure-Last-Event-ID'] = info.resumedFrom;
    }
    this.#socket.setNoDelay(true);
    this.#socket.setKeepAlive(true, 30_000);
    this.#res.writeHead(200, headers);
    this.#res.flushHeaders();
    // A first comment tells the client the subscription is live before anything is published.
    this.#write(this.#chunked ? HEARTBEAT_CHUNK : SSE_HEARTBEAT);
  }

  send(update: EncodedUpdate): void {
    if (this.#ended) return;
    this.#write(this.#chunked ? update.sseChunk : update.sse);
  }

  notice(type: HubEventName, data: unknown, retry?: number): void {
    if (this.#ended) return;
    const bytes = encodeSseHubEvent(type, data, retry);
    this.#write(this.#chunked ? httpChunk(bytes) : bytes);
  }

  heartbeat(): void {
    if (this.#ended || this.#socket.writableLength > 0) return;
    this.#write(this.#chunked ? HEARTBEAT_CHUNK : SSE_HEARTBEAT);
  }

  close(reason: CloseReason): void {
    if (this.#ended) return;
    if (reason === 'token-expired')
      this.notice(HubEvent.tokenExpired, { reason: 'token expired; reconnect with a fresh token' });
    else if (reason === 'shutdown')
      this.notice(
        HubEvent.shutdown,
        { reason: 'hub is restarting; reconnect' },
        this.#options.shutdownRetryMs,
      );
    else if (reason === 'slow-consumer' && this.#socket.writableLength < this.#options.maxBufferedBytes)
      this.notice(HubEvent.slowConsumer, { reason: 'too far behind; resume from your last id' });
    this.#ended = true;
    if (reason === 'slow-consumer' || reason === 'error') {
      // Its queue is full: waiting for it to drain is what we cannot afford.
      this.#socket.destroy();
      return;
    }
    if (this.#res.headersSent && this.#chunked && !this.#socket.destroyed) this.#socket.write(END_CHUNK);
    this.#socket.end();
  }

  #write(bytes: Uint8Array): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (!this.#corked) {
      // Several frames for one socket in one tick leave in one packet.
      this.#corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(bytes);
    if (socket.writableLength > this.#options.maxBufferedBytes && !this.#overflowed) {
      this.#overflowed = true;
      setImmediate(this.#options.onOverflow);
    }
  }

  /** @internal */
  uncorkNow(): void {
    this.#corked = false;
    this.#socket.uncork();
  }
}

function uncork(sink: SseSink): void {
  sink.uncorkNow();
}
