import type { Writable } from 'node:stream';
import type { BatchedWriter, WriteBatch } from './write-batch.ts';

/**
 * A socket or HTTP/2 stream whose writes of one event-loop turn are held and handed to it in a
 * single write when the server's `WriteBatch` flushes: every channel and sink that writes
 * prebuilt bytes (SSE over HTTP/1.x and HTTP/2, WebSocket frames) shares this, so all of them
 * are coalesced, sliced and paced the same way. Held bytes count as queued.
 */
export class BatchedStream implements BatchedWriter {
  readonly #stream: Writable;
  readonly #batch: WriteBatch;
  /** Bytes waiting for the batch flush (undefined: not registered with the batch this turn). */
  #pending: Uint8Array[] | undefined;
  #pendingBytes = 0;
  /** `onceDrained` callbacks registered while bytes were held: settled by the flush. */
  #drainWaiters: (() => void)[] | undefined;
  /** The stream is corked until the next flush (see `holdDirectWrites`). */
  #corked = false;

  constructor(stream: Writable, batch: WriteBatch) {
    this.#stream = stream;
    this.#batch = batch;
  }

  /** Bytes written but not yet taken by the kernel (or the peer's HTTP/2 window). */
  get queuedBytes(): number {
    return this.#stream.writableLength + this.#pendingBytes;
  }
  get highWaterMark(): number {
    return this.#stream.writableHighWaterMark;
  }
  get needsDrain(): boolean {
    // Held bytes always end in a drained callback: from the flush, or from the stream's 'drain'.
    return this.#stream.writableNeedDrain || this.#pending !== undefined;
  }
  get destroyed(): boolean {
    return this.#stream.destroyed;
  }

  /**
   * Holds what others write to the stream itself (node:http's response head) until this turn's
   * flush, so it leaves in one write with the first held bytes: a new subscriber costs one
   * socket write, not two.
   */
  holdDirectWrites(): void {
    if (this.#corked || this.#stream.destroyed) return;
    this.#stream.cork();
    this.#corked = true;
    if (this.#pending === undefined) {
      this.#pending = [];
      this.#batch.add(this);
    }
  }

  write(bytes: Uint8Array): void {
    if (this.#stream.destroyed) return;
    if (this.#pending === undefined) {
      this.#pending = [bytes];
      this.#batch.add(this);
    } else this.#pending.push(bytes);
    this.#pendingBytes += bytes.byteLength;
  }

  /** @internal Called by the batch: one write for everything held this turn. */
  flush(batch: WriteBatch): void {
    const parts = this.#pending;
    if (parts === undefined) return;
    this.#pending = undefined;
    this.#pendingBytes = 0;
    if (this.#stream.destroyed || this.#stream.writableEnded) return;
    let below = true;
    if (parts.length > 0) below = this.#stream.write(batch.join(parts));
    if (this.#corked) {
      this.#corked = false;
      this.#stream.uncork();
    }
    const waiting = this.#drainWaiters;
    if (waiting === undefined) return;
    this.#drainWaiters = undefined;
    // A large write the kernel takes at once returns true without a later 'drain': the queue
    // is below the high-water mark now, which is what a waiter waits for.
    for (const fn of waiting) {
      if (below) process.nextTick(fn);
      else this.#stream.once('drain', fn);
    }
  }

  /** Hands what is held to the stream now (before ending it, or a frame that must follow). */
  flushNow(): void {
    this.flush(this.#batch);
  }

  onceDrained(fn: () => void): void {
    if (this.#pending !== undefined) (this.#drainWaiters ??= []).push(fn);
    else this.#stream.once('drain', fn);
  }

  /** Forgets what is held (the stream is being cut). */
  discard(): void {
    this.#pending = undefined;
    this.#drainWaiters = undefined;
    this.#pendingBytes = 0;
  }
}
