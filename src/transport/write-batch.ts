/** Something holding bytes for one socket until the batch flushes it. */
export interface BatchedWriter {
  /** Hands the bytes queued since the last flush to the socket. */
  flush(batch: WriteBatch): void;
}

/** Default time one slice of a flush round may take before the event loop gets a turn. */
export const DEFAULT_FLUSH_SLICE_MS = 1;
/** A round at least this long paces the next one (see `#slice`). */
const HEAVY_ROUND_MS = 5;
/** The pause never holds updates back longer than this, however long the round took. */
const MAX_PAUSE_MS = 250;

/**
 * Coalesces socket writes per event-loop turn, one instance per server. A channel with bytes
 * to send registers itself once; registered channels are flushed from `setImmediate`, after
 * the poll phase, so all updates dispatched while handling that phase's publish requests
 * leave in a single write per socket. Under load the phase holds more publishes and each write
 * carries more of them: the syscall count stops growing with the publish rate.
 *
 * A round over many channels is cut into slices of about `sliceMs`, each in its own turn.
 * libuv accepts one connection per event-loop turn, so one long flush of 10 000 sockets
 * would starve the accept queue: clients reconnecting in a storm would wait behind it while
 * the kernel's backlog overflows. Bytes queued for a channel still waiting in the round join
 * its pending write, so slicing also coalesces.
 */
export class WriteBatch {
  readonly #sliceMs: number;
  /** Writers registered for the next round. */
  #queue: BatchedWriter[] = [];
  /** The round being flushed, slice by slice (undefined between rounds). */
  #round: BatchedWriter[] | undefined;
  #cursor = 0;
  #spare: BatchedWriter[] = [];
  #scheduled = false;
  #roundStart = 0;
  /** Earliest time (performance.now()) the next round may start: after a heavy round, a pause. */
  #notBefore = 0;
  /** Streams opened since the current round began. */
  #opened = 0;
  // Neighbouring channels of a fan-out usually queued the very same chunks: their joined bytes
  // are built once and reused (a one-entry cache, compared by identity).
  #lastParts: readonly Uint8Array[] | undefined;
  #lastJoined: Buffer | undefined;

  constructor(options: { sliceMs?: number } = {}) {
    this.#sliceMs = options.sliceMs ?? DEFAULT_FLUSH_SLICE_MS;
  }

  /** Queues `writer` for the next flush (the caller registers each writer once per turn). */
  add(writer: BatchedWriter): void {
    this.#queue.push(writer);
    if (!this.#scheduled) this.#schedule();
  }

  #schedule(): void {
    this.#scheduled = true;
    const wait = this.#round === undefined ? this.#notBefore - performance.now() : 0;
    if (wait > 0) setTimeout(runSlice, wait, this);
    else setImmediate(runSlice, this);
  }

  /** Tells the batch a new stream opened: newcomers during a heavy round pace the next one. */
  noteOpened(): void {
    this.#opened++;
  }

  /** @internal One slice: flushes writers until the round ends or the time budget is spent. */
  runSlice(): void {
    this.#scheduled = false;
    this.#slice();
    // A writer may have queued itself again while being flushed, which scheduled already.
    if (!this.#scheduled && (this.#round !== undefined || this.#queue.length > 0)) this.#schedule();
  }

  #slice(): void {
    let round = this.#round;
    if (round === undefined) {
      if (this.#queue.length === 0) return;
      // Writers flushed now may queue again (a write from a 'drain' handler): they go to the next round.
      round = this.#round = this.#queue;
      this.#queue = this.#spare;
      this.#cursor = 0;
      this.#roundStart = performance.now();
      this.#opened = 0;
    }
    const deadline = performance.now() + this.#sliceMs;
    let i = this.#cursor;
    while (i < round.length) {
      round[i++]!.flush(this);
      // Checking the clock every 32 writers keeps its cost negligible.
      if ((i & 31) === 0 && performance.now() >= deadline) break;
    }
    if (i < round.length) {
      this.#cursor = i;
      return;
    }
    // Clients connecting while a heavy round (thousands of sockets) ran, and more bytes
    // queued meanwhile: a reconnect storm while updates flow faster than rounds finish. The
    // next round waits as long as this one took, so at most half the time goes to flushing
    // while newcomers are let in and resumed, and the updates of the pause leave together in
    // one write per socket. Without newcomers nothing waits: latency comes first.
    const now = performance.now();
    const roundMs = now - this.#roundStart;
    const storm = this.#opened > 0 && this.#queue.length > 0 && roundMs >= HEAVY_ROUND_MS;
    this.#notBefore = storm ? now + Math.min(roundMs, MAX_PAUSE_MS) : 0;
    this.#opened = 0;
    round.length = 0;
    this.#spare = round;
    this.#round = undefined;
    this.#cursor = 0;
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

function runSlice(batch: WriteBatch): void {
  batch.runSlice();
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
