import type { Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import type { ByteChannel } from './byte-channel.ts';

/**
 * An HTTP/2 response: SSE bytes go straight onto the stream as DATA frames (HTTP/2 frames
 * the body itself, so there is no chunk framing). Queue size and back-pressure come from the
 * stream, which holds what the peer's flow-control window has not yet let through. Writes in
 * one tick are corked into one DATA frame.
 */
export class Http2Channel implements ByteChannel {
  readonly chunked = false;
  readonly #res: Http2ServerResponse;
  readonly #stream: ServerHttp2Stream;
  #corked = false;

  constructor(res: Http2ServerResponse) {
    this.#res = res;
    this.#stream = res.stream;
  }

  get queuedBytes(): number {
    return this.#stream.writableLength;
  }
  get highWaterMark(): number {
    return this.#stream.writableHighWaterMark;
  }
  get needsDrain(): boolean {
    return this.#stream.writableNeedDrain;
  }
  get closed(): boolean {
    const s = this.#stream;
    return s.destroyed || s.closed;
  }

  start(headers: Record<string, string>): void {
    // The compat response sends HEADERS at once, with what the router already set (X-Request-Id).
    this.#res.writeHead(200, headers);
  }

  write(bytes: Uint8Array): void {
    const stream = this.#stream;
    if (this.closed) return;
    if (!this.#corked) {
      this.#corked = true;
      stream.cork();
      process.nextTick(uncork, this);
    }
    stream.write(bytes);
  }

  /** @internal */
  uncorkNow(): void {
    this.#corked = false;
    this.#stream.uncork();
  }

  onceDrained(fn: () => void): void {
    this.#stream.once('drain', fn);
  }

  onceClosed(fn: () => void): void {
    this.#stream.once('close', fn);
  }

  end(): void {
    if (this.closed) return;
    // END_STREAM after the queued DATA; the connection (and every other tab's stream on it) stays up.
    this.#stream.end();
  }

  destroy(): void {
    // RST_STREAM for this stream only.
    this.#stream.destroy();
  }
}

function uncork(channel: Http2Channel): void {
  channel.uncorkNow();
}
