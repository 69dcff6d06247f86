import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { SseEvent } from './sse-client.ts';

/** An HTTP/2 client session to a TLS hub trusting `ca`. */
export function h2Connect(url: string, ca: Buffer): Promise<ClientHttp2Session> {
  const session = connect(url, { ca });
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/** A plain request over the session: status, headers and the whole body. */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let got: IncomingHttpHeaders = {};
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      status = Number(h[constants.HTTP2_HEADER_STATUS]);
      got = h;
    });
    stream.on('data', (c: string) => (text += c));
    stream.on('end', () => resolve({ status, headers: got, body: text }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** An SSE stream over one HTTP/2 stream of a shared session; waits on events, never sleeps. */
export class H2Sse {
  readonly events: SseEvent[] = [];
  readonly stream: ClientHttp2Stream;
  status = 0;
  headers: IncomingHttpHeaders = {};
  body = '';
  ended = false;
  #waiters: (() => void)[] = [];

  private constructor(stream: ClientHttp2Stream) {
    this.stream = stream;
  }

  /** Resolves once the response headers arrived. */
  static open(session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}): Promise<H2Sse> {
    const stream = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
    const conn = new H2Sse(stream);
    const parser = createParser({
      onEvent: (ev: EventSourceMessage) => {
        conn.events.push({ id: ev.id, event: ev.event ?? 'message', data: ev.data });
      },
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      conn.body += chunk;
      if (conn.status === 200) parser.feed(chunk);
      conn.#notify();
    });
    const end = (): void => {
      conn.ended = true;
      conn.#notify();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
    return new Promise((resolve, reject) => {
      stream.once('response', (h) => {
        conn.status = Number(h[constants.HTTP2_HEADER_STATUS]);
        conn.headers = h;
        resolve(conn);
      });
      stream.once('error', reject);
    });
  }

  get updates(): SseEvent[] {
    return this.events.filter((e) => !e.event.startsWith('herald.'));
  }

  waitFor(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(`timed out waiting for ${what}; got ${this.events.length} events, ended ${this.ended}`),
        );
      }, timeoutMs);
      const waiter = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve();
      };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.stream.close(constants.NGHTTP2_CANCEL);
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}
