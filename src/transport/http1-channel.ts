import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ByteChannel } from './byte-channel.ts';
import type { BatchedWriter, WriteBatch } from './write-batch.ts';

const END_CHUNK = new TextEncoder().encode('0\r\n\r\n');

/**
 * An HTTP/1.x response whose body is written to the socket directly after the headers, so
 * every subscriber can be sent the same prebuilt chunk. Bytes written during one event-loop
 * turn are held and leave in one socket write when the server's `WriteBatch` flushes.
 */
export class Http1Channel implements ByteChannel, BatchedWriter {
  readonly chunked: boolean;
  readonly #res: ServerResponse;
  readonly #socket: Socket;
  readonly #batch: WriteBatch;
  /** Bytes waiting for the batch flush (undefined: not registered with the batch this turn). */
  #pending: Uint8Array[] | undefined;
  #pendingBytes = 0;
  /** `onceDrained` callbacks registered while bytes were held: settled by the flush. */
  #drainWaiters: (() => void)[] | undefined;

  constructor(res: ServerResponse, batch: WriteBatch) {
    this.#res = res;
    this.#socket = res.socket as Socket;
    this.#batch = batch;
    this.chunked = res.req.httpVersion !== '1.0';
  }

  get queuedBytes(): number {
    return this.#socket.writableLength + this.#pendingBytes;
  }
  get highWaterMark(): number {
    return this.#socket.writableHighWaterMark;
  }
  get needsDrain(): boolean {
    // Held bytes always end in a drained callback: from the flush, or from the socket's 'drain'.
    return this.#socket.writableNeedDrain || this.#pending !== undefined;
  }
  get closed(): boolean {
    return this.#socket.destroyed;
  }

  start(headers: Record<string, string>): void {
    const all = { ...headers };
    if (this.chunked) {
      all['Transfer-Encoding'] = 'chunked';
      all['Connection'] = 'keep-alive';
    } else all['Connection'] = 'close';
    this.#socket.setNoDelay(true);
    this.#socket.setKeepAlive(true, 30_000);
    this.#res.writeHead(200, all);
    this.#res.flushHeaders();
    this.#batch.noteOpened();
  }

  write(bytes: Uint8Array): void {
    if (this.#socket.destroyed) return;
    if (this.#pending === undefined) {
      this.#pending = [bytes];
      this.#batch.add(this);
    } else this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
  }

  /** @internal Called by the batch: one socket write for everything queued this turn. */
  flush(batch: WriteBatch): void {
    const parts = this.#pending;
    if (parts === undefined) return;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    if (this.#socket.destroyed) return;
    const below = this.#socket.write(batch.join(parts));
    const waiting = this.#drainWaiters;
    if (waiting === undefined) return;
    this.#drainWaiters = undefined;
    // A large write the kernel takes at once returns true without a later 'drain': the queue
    // is below the high-water mark now, which is what a waiter waits for.
    for (const fn of waiting) {
      if (below) process.nextTick(fn);
      else this.#socket.once('drain', fn);
    }
  }

  onceDrained(fn: () => void): void {
    if (this.#pending !== undefined) (this.#drainWaiters ??= []).push(fn);
    else this.#socket.once('drain', fn);
  }

  onceClosed(fn: () => void): void {
    this.#socket.once('close', fn);
  }

  end(): void {
    this.flush(this.#batch);
    if (this.#res.headersSent && this.chunked && !this.#socket.destroyed) this.#socket.write(END_CHUNK);
    this.#socket.end();
  }

  destroy(): void {
    this.#pending = undefined;
    this.#drainWaiters = undefined;
    this.#pendingBytes = 0;
    this.#socket.destroy();
  }
}
