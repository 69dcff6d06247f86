import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ByteChannel } from './byte-channel.ts';

const END_CHUNK = new TextEncoder().encode('0\r\n\r\n');

/**
 * An HTTP/1.x response whose body is written to the socket directly after the headers, so
 * every subscriber can be sent the same prebuilt chunk. Writes in one tick are corked into one
 * packet.
 */
export class Http1Channel implements ByteChannel {
  readonly chunked: boolean;
  readonly #res: ServerResponse;
  readonly #socket: Socket;
  #corked = false;

  constructor(res: ServerResponse) {
    this.#res = res;
    this.#socket = res.socket as Socket;
    this.chunked = res.req.httpVersion !== '1.0';
  }

  get queuedBytes(): number {
    return this.#socket.writableLength;
  }
  get highWaterMark(): number {
    return this.#socket.writableHighWaterMark;
  }
  get needsDrain(): boolean {
    return this.#socket.writableNeedDrain;
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
  }

  write(bytes: Uint8Array): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(bytes);
  }

  /** @internal */
  uncorkNow(): void {
    this.#corked = false;
    this.#socket.uncork();
  }

  onceDrained(fn: () => void): void {
    this.#socket.once('drain', fn);
  }

  onceClosed(fn: () => void): void {
    this.#socket.once('close', fn);
  }

  end(): void {
    if (this.#res.headersSent && this.chunked && !this.#socket.destroyed) this.#socket.write(END_CHUNK);
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

function uncork(channel: Http1Channel): void {
  channel.uncorkNow();
}
