import type { CloseReason, OpenInfo, Sink } from '../../src/hub/sink.ts';
import type { EncodedNotice, EncodedUpdate } from '../../src/protocol/frames.ts';

/**
 * A sink that records what the hub asked it to write: the hub's own seam, not an external
 * service. `within` is what its writes report (set it false to play a slow client), and
 * `until` waits for a condition on what was recorded, woken by each call (no polling).
 */
export class RecordingSink implements Sink {
  readonly transport: 'sse' | 'ws';
  opened: OpenInfo | undefined;
  readonly sent: EncodedUpdate[] = [];
  readonly notices: EncodedNotice[] = [];
  /** Updates and notices in arrival order, as (event, data) pairs. */
  readonly seen: { event: string | undefined; data: string }[] = [];
  heartbeats = 0;
  closed: CloseReason | undefined;
  farewell: EncodedNotice | undefined;
  /** What `send` and `notice` report: false plays a connection over its byte budget. */
  within = true;
  /** The hub's `onceDrained` callback, while it waits for this sink to drain. */
  drainWaiter: (() => void) | undefined;
  #waiters: (() => void)[] = [];

  constructor(transport: 'sse' | 'ws' = 'sse') {
    this.transport = transport;
  }

  open(info: OpenInfo): void {
    this.opened = info;
    this.#wake();
  }
  send(u: EncodedUpdate): boolean {
    this.sent.push(u);
    this.seen.push({ event: u.update.type, data: u.update.data });
    this.#wake();
    return this.within;
  }
  notice(n: EncodedNotice): boolean {
    this.notices.push(n);
    this.seen.push({ event: n.type, data: JSON.stringify(n.data) });
    this.#wake();
    return this.within;
  }
  onceDrained(fn: () => void): void {
    this.drainWaiter = fn;
  }
  /** Plays the connection catching up: writes are within budget again and the hub is told. */
  drain(): void {
    this.within = true;
    const fn = this.drainWaiter;
    this.drainWaiter = undefined;
    fn?.();
  }
  heartbeat(): void {
    this.heartbeats++;
    this.#wake();
  }
  close(reason: CloseReason, farewell?: EncodedNotice): void {
    this.closed ??= reason;
    this.farewell ??= farewell;
    this.#wake();
  }

  /** Resolves once `pred()` holds, checked after each recorded call; rejects after `ms`. */
  until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(this.seen).slice(0, 500)}`));
      }, ms);
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
        resolve();
      };
      this.#waiters.push(check);
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** The retained-state values of the `herald.state` events seen (`{"n": ...}` states). */
  states(): number[] {
    return this.seen
      .filter((s) => s.event === 'herald.state')
      .map((s) => JSON.parse(s.data).state.n as number);
  }
}
