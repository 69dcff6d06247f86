import type { Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import { BatchedStream } from './batched-stream.ts';
import type { ByteChannel } from './byte-channel.ts';
import type { WriteBatch } from './write-batch.ts';

/**
 * An HTTP/2 response: SSE bytes go straight onto the stream as DATA frames (HTTP/2 frames
 * the body itself, so there is no chunk framing). Queue size and back-pressure come from the
 * stream, which holds what the peer's flow-control window has not yet let through. Writes of
 * one event-loop turn are held and leave as one DATA write when the server's `WriteBatch`
 * flushes, sliced and paced with every other stream and socket of the server.
 */
export class Http2Channel implements ByteChannel {
  readonly chunked = false;
  readonly #res: Http2ServerResponse;
  readonly #stream: ServerHttp2Stream;
  readonly #out: BatchedStream;
  readonly #batch: WriteBatch;

  constructor(res: Http2ServerResponse, batch: WriteBatch) {
    this.#res = res;
    this.#stream = res.stream;
    this.#batch = batch;
    this.#out = new BatchedStream(this.#stream, batch);
  }

  get queuedBytes(): number {
    return this.#out.queuedBytes;
  }
  get highWaterMark(): number {
    return this.#out.highWaterMark;
  }
  get needsDrain(): boolean {
    return this.#out.needsDrain;
  }
  get closed(): boolean {
    const s = this.#stream;
    return s.destroyed || s.closed;
  }

  start(headers: Record<string, string>): void {
    // The compat response sends HEADERS at once, with what the router already set (X-Request-Id).
    this.#res.writeHead(200, headers);
    this.#batch.noteOpened();
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    this.#out.write(bytes);
  }

  onceDrained(fn: () => void): void {
    this.#out.onceDrained(fn);
  }

  onceClosed(fn: () => void): void {
    this.#stream.once('close', fn);
  }

  end(): void {
    if (this.closed) return;
    this.#out.flushNow();
    // END_STREAM after the queued DATA; the connection (and every other tab's stream on it) stays up.
    this.#stream.end();
  }

  destroy(): void {
    this.#out.discard();
    // RST_STREAM for this stream only.
    this.#stream.destroy();
  }
}
