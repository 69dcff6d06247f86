/** Minimal SSE subscriber over node:http: a line parser, no EventSource polyfill. */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Endpoint } from '../systems/types.ts';
import { SseParser } from './sse-parser.ts';
import type { Subscriber, SubscriberSink } from './subscriber.ts';

export class SseSubscriber implements Subscriber {
  live = false;
  lastId: string | undefined;
  readonly #parser = new SseParser({
    onComment: () => this.#markLive(),
    onEvent: (data, id) => {
      // Some servers send no comment first; the first event proves the subscription live.
      this.#markLive();
      if (id !== undefined) this.lastId = id;
      this.#sink.onMessage(this, data);
    },
  });
  #req: ClientRequest | undefined;
  readonly #node: Endpoint;
  readonly #path: string;
  readonly #localAddress: string;
  readonly #sink: SubscriberSink;

  constructor(node: Endpoint, path: string, localAddress: string, sink: SubscriberSink) {
    this.#node = node;
    this.#path = path;
    this.#localAddress = localAddress;
    this.#sink = sink;
  }

  connect(resume: boolean): void {
    this.live = false;
    this.#parser.reset();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (resume && this.lastId !== undefined) headers['last-event-id'] = this.lastId;
    const req = request({
      host: this.#node.host,
      port: this.#node.port,
      path: this.#path,
      method: 'GET',
      headers,
      localAddress: this.#localAddress,
      agent: false,
    });
    this.#req = req;
    req.on('response', (res: IncomingMessage) => {
      if (this.#req !== req) return;
      if (res.statusCode !== 200) {
        res.resume();
        this.#sink.onError(this, `HTTP ${res.statusCode}`);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (this.#req === req) this.#parser.feed(chunk);
      });
      res.on('error', () => undefined);
      res.on('end', () => {
        if (this.#req === req) this.#sink.onClosed(this);
      });
    });
    // Events from a request we already dropped (storm, reconnect) must not touch the new one.
    req.on('error', (err) => {
      if (this.#req === req) this.#sink.onError(this, err.message);
    });
    req.end();
  }

  close(): void {
    this.#req?.destroy();
    this.#req = undefined;
    this.live = false;
  }

  #markLive(): void {
    if (this.live) return;
    this.live = true;
    this.#sink.onLive(this);
  }
}
