import type { ByteChannel } from './byte-channel.ts';

/** Bytes a web stream queues before a write reports back-pressure. */
export const WEB_STREAM_HIGH_WATER_MARK = 64 * 1024;

export interface WebStreamChannelOptions {
  /** Called once, by `start()`: the adapter answers with a `Response` over `channel.stream`. */
  onStart(headers: Record<string, string>): void;
  highWaterMark?: number;
}

/**
 * An SSE body as a Web-standard `ReadableStream` (fetch handlers: Next.js route handlers, Hono,
 * Bun, Deno). The stream's own queue is the buffer: `queuedBytes` is what the consumer has not
 * pulled yet, `onceDrained` fires when a pull brings it back under the high-water mark, and a
 * consumer that cancels (client gone) closes the channel so the hub unsubscribes.
 */
export class WebStreamChannel implements ByteChannel {
  readonly chunked = false;
  readonly highWaterMark: number;
  readonly stream: ReadableStream<Uint8Array>;
  readonly #onStart: (headers: Record<string, string>) => void;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #started = false;
  #closed = false;
  #drained: (() => void)[] = [];
  #gone: (() => void)[] = [];

  constructor(options: WebStreamChannelOptions) {
    this.#onStart = options.onStart;
    this.highWaterMark = options.highWaterMark ?? WEB_STREAM_HIGH_WATER_MARK;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        // Called when the consumer took bytes and the queue is under the high-water mark.
        pull: () => {
          if (this.#drained.length === 0) return;
          const waiting = this.#drained;
          this.#drained = [];
          for (const fn of waiting) fn();
        },
        cancel: () => this.#finish(),
      },
      { highWaterMark: this.highWaterMark, size: (chunk) => chunk.byteLength },
    );
  }

  get queuedBytes(): number {
    if (this.#closed) return 0;
    const desired = this.#controller.desiredSize ?? 0;
    return Math.max(0, this.highWaterMark - desired);
  }

  get needsDrain(): boolean {
    return !this.#closed && (this.#controller.desiredSize ?? 0) <= 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once `start()` handed the stream to the adapter. */
  get started(): boolean {
    return this.#started;
  }

  start(headers: Record<string, string>): void {
    if (this.#started) return;
    this.#started = true;
    this.#onStart(headers);
  }

  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#controller.enqueue(bytes);
  }

  onceDrained(fn: () => void): void {
    this.#drained.push(fn);
  }

  onceClosed(fn: () => void): void {
    if (this.#closed) queueMicrotask(fn);
    else this.#gone.push(fn);
  }

  /** The consumer reads what is queued, then the stream ends. */
  end(): void {
    if (this.#closed) return;
    this.#controller.close();
    this.#finish();
  }

  /** The consumer's next read fails: the connection is cut rather than ended cleanly. */
  destroy(): void {
    if (this.#closed) return;
    this.#controller.error(new Error('stream destroyed by the hub'));
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drained = [];
    const gone = this.#gone;
    this.#gone = [];
    for (const fn of gone) fn();
  }
}
