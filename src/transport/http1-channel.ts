import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BatchedStream } from './batched-stream.ts';
import type { ByteChannel } from './byte-channel.ts';
import type { WriteBatch } from './write-batch.ts';

const END_CHUNK = new TextEncoder().encode('0\r\n\r\n');

/**
 * An HTTP/1.x response whose body is written to the socket directly after the headers, so
 * every subscriber can be sent the same prebuilt chunk. Bytes written during one event-loop
 * turn are held and leave in one socket write when the server's `WriteBatch` flushes.
 */
export class Http1Channel implements ByteChannel {
  readonly chunked: boolean;
  readonly #res: ServerResponse;
  readonly #socket: Socket;
  readonly #out: BatchedStream;
  readonly #batch: WriteBatch;
  /** Headers the adapter adds to the head; dropped once it is sent. */
  #head: Record<string, string> | undefined;

  constructor(res: ServerResponse, batch: WriteBatch, head?: Record<string, string>) {
    this.#head = head;
    this.#res = res;
    this.#socket = res.socket as Socket;
    this.#batch = batch;
    this.#out = new BatchedStream(this.#socket, batch);
    this.chunked = res.req.httpVersion !== '1.0';
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
    return this.#socket.destroyed;
  }

  start(headers: Record<string, string>): void {
    const all = { ...this.#head, ...headers };
    this.#head = undefined;
    if (this.chunked) {
      all['Transfer-Encoding'] = 'chunked';
      all['Connection'] = 'keep-alive';
    } else all['Connection'] = 'close';
    this.#socket.setNoDelay(true);
    this.#socket.setKeepAlive(true, 30_000);
    this.#out.holdDirectWrites();
    this.#res.writeHead(200, all);
    this.#res.flushHeaders();
    this.#batch.noteOpened();
  }

  write(bytes: Uint8Array): void {
    this.#out.write(bytes);
  }

  onceDrained(fn: () => void): void {
    this.#out.onceDrained(fn);
  }

  onceClosed(fn: () => void): void {
    // A socket closes once: `on` spares the `once` wrapper each idle connection would hold.
    this.#socket.on('close', fn);
  }

  end(): void {
    // The client went first (the usual end): ending a destroyed socket only builds an error
    // with a stack trace.
    if (this.#socket.destroyed) return this.#out.discard();
    this.#out.flushNow();
    if (this.#res.headersSent && this.chunked) this.#socket.write(END_CHUNK);
    this.#socket.end();
  }

  destroy(): void {
    this.#out.discard();
    this.#socket.destroy();
  }
}
