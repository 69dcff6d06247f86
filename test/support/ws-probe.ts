import { WebSocket, type ClientOptions } from 'ws';

/** A message as received (parsed JSON) and the close, for assertions in tests. */
export type Msg = Record<string, unknown>;

/**
 * A real `ws` client that records every frame, so a test can wait for the next one matching a
 * predicate (bounded by a timeout, never a sleep).
 */
export class WsProbe {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  readonly #order = new WeakMap<Msg, number>();
  #received = 0;
  #waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; from: number }[] = [];

  constructor(url: string, options: ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => {
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            headers: res.headers,
          }),
        );
        res.resume();
      });
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      this.#order.set(m, this.#received++);
      this.messages.push(m);
      this.#waiters = this.#waiters.filter((w) => {
        if (w.pred(m)) {
          w.resolve(m);
          return false;
        }
        return true;
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first message (already received or coming) matching `pred`, within `ms`. */
  next(pred: (m: Msg) => boolean, ms = 5000): Promise<Msg> {
    const found = this.messages.find(pred);
    if (found) {
      this.messages.splice(this.messages.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(this.messages)}`)),
        ms,
      );
      this.#waiters.push({
        pred,
        from: this.messages.length,
        resolve: (m) => {
          clearTimeout(t);
          this.messages.splice(this.messages.indexOf(m), 1);
          resolve(m);
        },
      });
    });
  }

  /** Like `next`, but leaves the message in `messages` (to assert on the whole sequence later). */
  async seen(pred: (m: Msg) => boolean, ms = 5000): Promise<Msg> {
    const found = this.messages.find(pred);
    if (found) return found;
    const m = await this.next(pred, ms);
    // `next` took it out, possibly after later frames arrived: put it back where it was received.
    this.messages.splice(this.#receivedBefore(m), 0, m);
    return m;
  }

  #receivedBefore(m: Msg): number {
    const at = this.#order.get(m) ?? 0;
    const i = this.messages.findIndex((x) => (this.#order.get(x) ?? 0) > at);
    return i === -1 ? this.messages.length : i;
  }

  op(name: string, ms?: number): Promise<Msg> {
    return this.next((m) => m['op'] === name, ms);
  }

  update(ms?: number): Promise<Msg> {
    return this.next((m) => m['op'] === undefined, ms);
  }

  /** Messages still unconsumed that are updates. */
  pendingUpdates(): Msg[] {
    return this.messages.filter((m) => m['op'] === undefined);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}
