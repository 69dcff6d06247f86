/**
 * SSE subscriber over a raw TCP socket: writes the HTTP/1.1 GET itself and decodes the
 * response (status line, headers, chunked or plain body) with a few string operations.
 * About half the CPU per delivery of node:http's IncomingMessage stream, which matters when
 * one 2-core machine runs both the hub and the load generator.
 */
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '../systems/types.ts';
import { SseParser } from './sse-parser.ts';
import type { Subscriber, SubscriberSink } from './subscriber.ts';

const State = { Head: 0, ChunkSize: 1, ChunkData: 2, ChunkEnd: 3, Plain: 4 } as const;
type State = (typeof State)[keyof typeof State];

export class SseNetSubscriber implements Subscriber {
  live = false;
  lastId: string | undefined;
  #socket: Socket | undefined;
  #state: State = State.Head;
  #head = '';
  #pending = '';
  #remaining = 0;
  /** Bytes read on the current socket (debug traces). */
  #bytes = 0;
  readonly #node: Endpoint;
  readonly #path: string;
  readonly #localAddress: string;
  readonly #sink: SubscriberSink;
  readonly #parser: SseParser;

  constructor(node: Endpoint, path: string, localAddress: string, sink: SubscriberSink) {
    this.#node = node;
    this.#path = path;
    this.#localAddress = localAddress;
    this.#sink = sink;
    this.#parser = new SseParser({
      onComment: () => this.#markLive(),
      onEvent: (data, id) => {
        if (id !== undefined) this.lastId = id;
        // A server that sends no comment first proves the subscription live with its first event.
        this.#markLive();
        this.#sink.onMessage(this, data);
      },
    });
  }

  connect(resume: boolean): void {
    this.live = false;
    this.#state = State.Head;
    this.#head = '';
    this.#pending = '';
    this.#parser.reset();
    this.#bytes = 0;
    const resumeHeader = resume && this.lastId !== undefined ? `Last-Event-ID: ${this.lastId}\r\n` : '';
    const socket = connect({ host: this.#node.host, port: this.#node.port, localAddress: this.#localAddress });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.write(
      `GET ${this.#path} HTTP/1.1\r\nHost: ${this.#node.host}:${this.#node.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n${resumeHeader}\r\n`,
      'latin1',
    );
    socket.on('data', (buf: Buffer) => {
      if (this.#socket === socket) {
        this.#bytes += buf.length;
        this.#sink.onBytes?.(buf.length);
        this.#feed(buf.toString('latin1'));
      }
    });
    // Events from a socket we already dropped (storm, reconnect) must not touch the new one.
    socket.on('error', (err) => {
      if (this.#socket === socket) this.#fail(err.message);
    });
    socket.on('close', () => {
      if (this.#socket === socket) {
        this.#socket = undefined;
        this.#sink.onClosed(this);
      }
    });
  }

  describe(): string {
    return `live=${this.live} socket=${this.#socket ? (this.#socket.destroyed ? 'destroyed' : 'open') : 'none'} state=${this.#state} remaining=${this.#remaining} pending=${this.#pending.length} head=${this.#head.length} bytes=${this.#bytes} lastId=${this.lastId ?? ''}`;
  }

  close(): void {
    const s = this.#socket;
    this.#socket = undefined;
    this.live = false;
    s?.destroy();
  }

  #fail(reason: string): void {
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
    this.#sink.onError(this, reason);
  }

  #markLive(): void {
    if (!this.live) {
      this.live = true;
      this.#sink.onLive(this);
    }
  }

  #feed(input: string): void {
    const s = this.#pending.length ? this.#pending + input : input;
    this.#pending = '';
    let i = 0;
    while (i < s.length) {
      switch (this.#state) {
        case State.Head: {
          const end = s.indexOf('\r\n\r\n', i);
          if (end < 0) {
            this.#head += s.slice(i);
            return;
          }
          const head = this.#head + s.slice(i, end);
          this.#head = '';
          i = end + 4;
          const status = Number(head.slice(9, 12));
          if (status !== 200) {
            this.#fail(`HTTP ${status}`);
            return;
          }
          this.#state = /\r\ntransfer-encoding:\s*chunked/i.test(head) ? State.ChunkSize : State.Plain;
          break;
        }
        case State.ChunkSize: {
          const nl = s.indexOf('\r\n', i);
          if (nl < 0) {
            this.#pending = s.slice(i);
            return;
          }
          this.#remaining = parseInt(s.slice(i, nl), 16);
          i = nl + 2;
          if (this.#remaining === 0) {
            this.#fail('stream ended');
            return;
          }
          this.#state = State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.#remaining, s.length - i);
          this.#parser.feed(take === s.length - i && i === 0 ? s : s.slice(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = State.ChunkEnd;
          break;
        }
        case State.ChunkEnd: {
          if (s.length - i < 2) {
            this.#pending = s.slice(i);
            return;
          }
          i += 2;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Plain:
          this.#parser.feed(i === 0 ? s : s.slice(i));
          return;
      }
    }
  }
}
