import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** What came back on a raw socket: the status (0 when the hub just closed) and the text. */
export interface RawResponse {
  status: number;
  text: string;
}

/**
 * Writes bytes to a fresh TCP connection and reads until the hub closes it, a full response
 * head arrived and `untilHead` is set, or the timeout passes.
 */
export function rawExchange(
  port: number,
  payload: string | Uint8Array,
  options: { timeoutMs?: number; endAfterWrite?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 3000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      // One complete response is enough: keep-alive would otherwise hold the socket open.
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd !== -1) {
        const len = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd));
        if (len && text.length >= headEnd + 4 + Number(len[1])) finish();
      }
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(payload, () => {
      if (options.endAfterWrite) socket.end();
    });
  });
}

/** Plain HTTP request with a body; resolves with status, headers and text. */
export function httpRequest(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    localAddress?: string;
  } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        agent: false,
        ...(init.localAddress ? { localAddress: init.localAddress } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * A subscriber over node:http: collects parsed SSE events, and waits on them by predicate.
 * Resolves `opened` with the response status and headers.
 */
export class SseClient {
  readonly events: EventSourceMessage[] = [];
  status = 0;
  headers: IncomingHttpHeaders = {};
  body = '';
  ended = false;
  readonly opened: Promise<number>;
  readonly closed: Promise<void>;
  #waiters: { pred: (e: EventSourceMessage) => boolean; resolve: (e: EventSourceMessage) => void }[] = [];
  #destroy: () => void = () => {};

  constructor(url: string, headers: Record<string, string> = {}, localAddress?: string) {
    let onClosed!: () => void;
    this.closed = new Promise((r) => (onClosed = r));
    this.opened = new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          headers: { Accept: 'text/event-stream', ...headers },
          agent: false,
          ...(localAddress ? { localAddress } : {}),
        },
        (res) => {
          this.status = res.statusCode ?? 0;
          this.headers = res.headers;
          const parser = createParser({
            onEvent: (e) => {
              this.events.push(e);
              this.#waiters = this.#waiters.filter((w) => {
                if (!w.pred(e)) return true;
                w.resolve(e);
                return false;
              });
            },
          });
          res.setEncoding('utf8');
          let first = true;
          res.on('data', (d: string) => {
            this.body += d;
            parser.feed(d);
            if (first) {
              first = false;
              resolve(this.status);
            }
          });
          const end = (): void => {
            this.ended = true;
            onClosed();
          };
          res.on('end', end);
          res.on('close', end);
          res.on('error', end);
          // Error responses have a body and an end: resolve on the status either way.
          if (this.status !== 200) resolve(this.status);
        },
      );
      req.on('error', (e) => {
        this.ended = true;
        onClosed();
        reject(e);
      });
      req.end();
      this.#destroy = () => req.destroy();
    });
  }

  /** Resolves with the first event (already received or future) matching `pred`. */
  waitFor(
    pred: (e: EventSourceMessage) => boolean,
    timeoutMs = 5000,
    what = 'event',
  ): Promise<EventSourceMessage> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  close(): void {
    this.#destroy();
  }
}

/** Publishes with a form body; resolves with status and text. */
export function publishForm(
  base: string,
  token: string,
  fields: [string, string][],
  path = '/.well-known/mercure',
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return httpRequest(base + path, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      ...extraHeaders,
    },
    body: new URLSearchParams(fields).toString(),
  });
}
