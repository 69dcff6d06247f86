/**
 * Where an SSE stream's bytes go: an HTTP/1.x socket, an HTTP/2 stream, a web ReadableStream.
 * The SSE sink owns framing and the slow-consumer policy; a channel only moves bytes and
 * reports how many are still queued.
 */
export interface ByteChannel {
  /** True when bytes must be wrapped in HTTP/1.1 chunk framing (the sink passes prebuilt chunks). */
  readonly chunked: boolean;
  /** Bytes written but not yet handed to the kernel/consumer. */
  readonly queuedBytes: number;
  /** Past this many queued bytes a write reports back-pressure and `onceDrained` will fire. */
  readonly highWaterMark: number;
  readonly needsDrain: boolean;
  readonly closed: boolean;
  /** Sends the status line and headers. */
  start(headers: Record<string, string>): void;
  write(bytes: Uint8Array): void;
  onceDrained(fn: () => void): void;
  onceClosed(fn: () => void): void;
  /** Ends the stream after the queued bytes. */
  end(): void;
  /** Cuts the connection now. */
  destroy(): void;
}
