/** Something holding bytes for one socket until the batch flushes it. */
export interface BatchedWriter {
  /** Hands the bytes queued since the last flush to the socket. */
  flush(batch: WriteBatch): void;
}

/**
 * Coalesces socket writes per event-loop turn, one instance per server. A channel with bytes
 * to send registers itself once; every registered channel is flushed from one `setImmediate`,
 * after the poll phase, so all updates dispatched while handling that phase's publish requests
 * leave in a single write per socket. Under load the phase holds more publishes and each write
 * carries more of them: the syscall count stops growing with the publish rate.
 */
export class WriteBatch {
  #queue: BatchedWriter[] = [];
  #spare: BatchedWriter[] = [];
  #scheduled = false;
  // Neighbouring channels of a fan-out usually queued the very same chunks: their joined bytes
  // are built once and reused (a one-entry cache, compared by identity).
  #lastParts: readonly Uint8Array[] | undefined;
  #lastJoined: Buffer | undefined;

  /** Queues `writer` for the next flush (the caller registers each writer once per turn). */
  add(writer: BatchedWriter): void {
    this.#queue.push(writer);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(flushBatch, this);
    }
  }

  /** Flushes every queued writer now. */
  flushAll(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    // Writers flushed now may queue again (a write from a 'drain' handler): they go to the next turn.
    this.#queue = this.#spare;
    for (let i = 0; i < queue.length; i++) queue[i]!.flush(this);
    queue.length = 0;
    this.#spare = queue;
    this.#lastParts = undefined;
    this.#lastJoined = undefined;
  }

  /**
   * The bytes of `parts` as one Buffer (Node streams take a Buffer without copying); the same
   * Buffer when called again with identical parts during one flush.
   */
  join(parts: readonly Uint8Array[]): Buffer {
    const last = this.#lastParts;
    if (last !== undefined && last.length === parts.length) {
      let same = true;
      for (let i = 0; i < parts.length; i++) {
        if (last[i] !== parts[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastJoined!;
    }
    const joined = parts.length === 1 ? asBuffer(parts[0]!) : Buffer.concat(parts);
    this.#lastParts = parts;
    this.#lastJoined = joined;
    return joined;
  }
}

function flushBatch(batch: WriteBatch): void {
  batch.flushAll();
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
