import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * A real SSE connection for tests: collects parsed events and comments, and lets a test
 * wait for a condition without sleeping.
 */
export class SseConnection {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  headers: IncomingHttpHeaders = {};
  body = '';
  ended = false;
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  #res: IncomingMessage | undefined;
  #req: ReturnType<typeof request> | undefined;

  /** Resolves when the response headers arrived (status known). */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
    const conn = new SseConnection();
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        conn.#res = res;
        conn.status = res.statusCode ?? 0;
        conn.headers = res.headers;
        const parser = createParser({
          onEvent: (ev: EventSourceMessage) => {
            conn.events.push({ id: ev.id, event: ev.event ?? 'message', data: ev.data });
            conn.#notify();
          },
          onComment: () => {
            conn.comments++;
            conn.#notify();
          },
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          conn.body += chunk;
          if (conn.status === 200) parser.feed(chunk);
          conn.#notify();
        });
        const end = () => {
          conn.ended = true;
          conn.#notify();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        resolve(conn);
      });
      conn.#req = req;
      req.on('error', (e) => {
        conn.ended = true;
        conn.#notify();
        reject(e);
      });
      req.end();
    });
  }

  /** Updates only (hub events such as herald.gap excluded). */
  get updates(): SseEvent[] {
    return this.events.filter((e) => !e.event.startsWith('herald.'));
  }

  waitFor(check: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out waiting for ${what}; got ${this.events.length} events, status ${this.status}, ended ${this.ended}`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves once the first comment (the hub's "you are live" signal) arrived. */
  live(): Promise<void> {
    return this.waitFor(() => this.comments > 0, 'subscription to go live');
  }

  waitForUpdates(n: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.updates.length >= n, `${n} updates`, timeoutMs);
  }

  waitForEnd(timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.ended, 'stream end', timeoutMs);
  }

  close(): void {
    this.#req?.destroy();
    this.#res?.destroy();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) {
      if (w.check()) {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}
