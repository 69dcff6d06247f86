/** Minimal SSE subscriber over node:http: a line parser, no EventSource polyfill. */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Endpoint } from '../systems/types.ts';
import type { Subscriber, SubscriberSink } from './subscriber.ts';

export class SseSubscriber implements Subscriber {
  live = false;
  lastId: string | undefined;
  #buf = '';
  #data: string | undefined;
  #id: string | undefined;
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
    this.#buf = '';
    this.#data = undefined;
    this.#id = undefined;
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
        if (this.#req === req) this.#feed(chunk);
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

  #feed(chunk: string): void {
    const buf = this.#buf + chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && buf.charCodeAt(end - 1) === 13) end--;
      this.#line(buf, start, end);
      start = nl + 1;
    }
    this.#buf = start === buf.length ? '' : buf.slice(start);
  }

  #line(buf: string, start: number, end: number): void {
    if (start === end) {
      if (this.#data !== undefined) {
        if (this.#id !== undefined) this.lastId = this.#id;
        this.#sink.onMessage(this, this.#data);
      }
      this.#data = undefined;
      this.#id = undefined;
      return;
    }
    const c = buf.charCodeAt(start);
    if (c === 58 /* : */) {
      if (!this.live) {
        this.live = true;
        this.#sink.onLive(this);
      }
    } else if (c === 100 /* d */ && buf.startsWith('data:', start)) {
      const from = buf.charCodeAt(start + 5) === 32 ? start + 6 : start + 5;
      const piece = buf.slice(from, end);
      this.#data = this.#data === undefined ? piece : `${this.#data}\n${piece}`;
      // Some servers send no comment first; the first event proves the subscription live.
      if (!this.live) {
        this.live = true;
        this.#sink.onLive(this);
      }
    } else if (c === 105 /* i */ && buf.startsWith('id:', start)) {
      this.#id = buf.slice(buf.charCodeAt(start + 3) === 32 ? start + 4 : start + 3, end);
    }
  }
}
