import type { PublishInput, Update } from '../protocol/update.ts';
import type { Broker, BrokerHealth, HealthReporting, HistoryPage } from './broker.ts';
import { MemoryBroker, type MemoryBrokerOptions } from './memory.ts';

/**
 * The answer to one of a worker's publishes, carried by the relay message that holds its
 * updates: `updates[from, from + count)`. The worker dispatches the message, then resolves the
 * publish: no answer message of its own, and the updates cross the link once.
 */
export interface PublishAnswer {
  id: number;
  from: number;
  count: number;
}

/** One publish request of a worker. */
export interface PublishRequest {
  herald: 'publish';
  id: number;
  inputs: readonly PublishInput[];
}

/**
 * A worker's requests to the primary's relay. The publishes a worker takes in one event-loop
 * turn leave together (`publishes`, in the order they were made).
 */
export type ToRelay =
  | PublishRequest
  | { herald: 'publishes'; requests: PublishRequest[] }
  | { herald: 'history'; id: number; lastEventId: string; limit: number };

/** The relay's messages to a worker: updates for everyone, answers for one. */
export type FromRelay =
  | { herald: 'updates'; updates: Update[]; answers?: PublishAnswer[] }
  | { herald: 'published'; id: number; updates?: Update[]; error?: string }
  | { herald: 'history'; id: number; page?: HistoryPage; error?: string };

/**
 * One ordered, reliable message channel between a worker and the primary (node:cluster IPC
 * in production, a pair of in-process queues in tests).
 */
export interface ClusterLink<Out, In> {
  send(message: Out): void;
  /** Starts delivering incoming messages; returns a function that stops it. */
  listen(onMessage: (message: In) => void): () => void;
  readonly connected: boolean;
}

function isFromRelay(m: unknown): m is FromRelay {
  return typeof m === 'object' && m !== null && typeof (m as { herald?: unknown }).herald === 'string';
}

/**
 * The broker of a worker process in `--workers N` mode without Redis. The primary's
 * `ClusterRelay` is the hub-wide sequencer: it stores every update in the one history and
 * sends it to every worker (this one included) over the same ordered link that carries the
 * answers, so an update is always dispatched before the publish that created it resolves,
 * and before any history page that contains it arrives (the hub's resume seam relies on it).
 *
 * Every worker sees every update, so each keeps a copy of the recent history (`historySize`)
 * and answers a resume from it when it holds the id: a reconnect storm then costs no IPC
 * round trip and no serialized page per client. Ids it does not hold (older than this
 * worker, `earliest`) are asked of the primary. A copy only holds what this worker has
 * dispatched, which keeps the seam's guarantee.
 */
export class ClusterBroker implements Broker, HealthReporting {
  readonly kind = 'cluster' as const;
  readonly #link: ClusterLink<ToRelay, unknown>;
  readonly #copy: MemoryBroker | undefined;
  readonly #waiting = new Map<number, (m: FromRelay) => void>();
  #nextId = 1;
  #stop: (() => void) | undefined;
  #onUpdate: ((u: Update) => void) | undefined;
  #closed = false;

  constructor(link: ClusterLink<ToRelay, unknown>, history?: MemoryBrokerOptions) {
    this.#link = link;
    this.#copy = history && history.historySize > 0 ? new MemoryBroker(history) : undefined;
  }

  async start(onUpdate: (update: Update) => void): Promise<void> {
    this.#onUpdate = onUpdate;
    this.#stop = this.#link.listen((m) => {
      if (!isFromRelay(m)) return;
      if (m.herald === 'updates') {
        for (const u of m.updates) {
          this.#copy?.mirror(u);
          this.#onUpdate?.(u);
        }
        for (const a of m.answers ?? []) {
          const answer = this.#waiting.get(a.id);
          this.#waiting.delete(a.id);
          answer?.({ herald: 'published', id: a.id, updates: m.updates.slice(a.from, a.from + a.count) });
        }
        return;
      }
      // The link also carries other parts' answers (retained state): only ours are looked up.
      if (m.herald !== 'published' && m.herald !== 'history') return;
      const answer = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      answer?.(m);
    });
  }

  #ask(make: (id: number) => ToRelay | PublishRequest, queue = false): Promise<FromRelay> {
    if (this.#closed) return Promise.reject(new Error('cluster broker is closed'));
    if (!this.#link.connected) return Promise.reject(new Error('primary process is gone'));
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      const message = make(id);
      if (queue && message.herald === 'publish') {
        // One IPC message per turn rather than per publish: each costs a serialisation and a
        // system call on both sides (a fifth of a worker's time under single publishes).
        if (this.#queued.push(message) === 1) setImmediate(this.#sendQueued);
        return;
      }
      // Anything else leaves after the publishes made before it.
      this.#sendQueued();
      this.#link.send(message);
    });
  }

  /** Publishes made this turn, not sent yet. */
  #queued: PublishRequest[] = [];

  readonly #sendQueued = (): void => {
    const requests = this.#queued;
    if (requests.length === 0) return;
    this.#queued = [];
    if (this.#closed || !this.#link.connected) {
      for (const r of requests) this.#settle(r.id, 'primary process is gone');
      return;
    }
    this.#link.send(requests.length === 1 ? requests[0]! : { herald: 'publishes', requests });
  };

  #settle(id: number, error: string): void {
    const answer = this.#waiting.get(id);
    this.#waiting.delete(id);
    answer?.({ herald: 'published', id, error });
  }

  async publish(inputs: readonly PublishInput[]): Promise<Update[]> {
    const answer = await this.#ask((id) => ({ herald: 'publish', id, inputs }), true);
    if (answer.herald !== 'published' || !answer.updates) throw new Error(answerError(answer));
    return answer.updates;
  }

  async historyAfter(lastEventId: string, limit: number): Promise<HistoryPage> {
    if (this.#copy && lastEventId !== 'earliest') {
      const local = await this.#copy.historyAfter(lastEventId, limit);
      if (local.found) return local;
    }
    const answer = await this.#ask((id) => ({ herald: 'history', id, lastEventId, limit }));
    if (answer.herald !== 'history' || !answer.page) throw new Error(answerError(answer));
    return answer.page;
  }

  health(): BrokerHealth {
    const ready = !this.#closed && this.#link.connected;
    return ready ? { kind: 'cluster', ready } : { kind: 'cluster', ready, detail: 'primary unreachable' };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queued = [];
    this.#stop?.();
    this.#stop = undefined;
    for (const answer of this.#waiting.values())
      answer({ herald: 'published', id: 0, error: 'cluster broker closed' });
    this.#waiting.clear();
  }
}

function answerError(m: FromRelay): string {
  return 'error' in m && m.error ? m.error : `unexpected answer ${m.herald}`;
}

function isToRelay(m: unknown): m is ToRelay {
  if (typeof m !== 'object' || m === null) return false;
  const h = (m as { herald?: unknown }).herald;
  return h === 'publish' || h === 'publishes' || h === 'history';
}

/**
 * Runs in the primary process of `--workers N`: owns the history (a MemoryBroker) and relays
 * every update to every attached worker. Updates stored during one event-loop turn leave in
 * one message per worker, and that message also answers the publishes of the worker it goes
 * to (see PublishAnswer): per publish, one request in and one message out per worker.
 */
export class ClusterRelay {
  readonly #broker: MemoryBroker;
  readonly #links = new Set<ClusterLink<FromRelay, unknown>>();
  #outbox: Update[] = [];
  #flushQueued = false;
  /** Counts flushes: a publish whose updates left before its answer was ready is answered alone. */
  #flushes = 0;
  readonly #answers = new Map<ClusterLink<FromRelay, unknown>, PublishAnswer[]>();

  constructor(broker: MemoryBroker) {
    this.#broker = broker;
  }

  async start(): Promise<void> {
    await this.#broker.start((u) => {
      this.#outbox.push(u);
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        // At the end of the turn: every publish request read in this turn leaves in one message.
        setImmediate(() => {
          if (this.#flushQueued) this.#flush();
        });
      }
    });
  }

  #flush(): void {
    this.#flushQueued = false;
    this.#flushes++;
    const updates = this.#outbox;
    this.#outbox = [];
    // Workers whose publishes this answers go last: when a publish resolves, the other
    // workers have been sent its updates already.
    for (const link of this.#links)
      if (link.connected && !this.#answers.has(link)) link.send({ herald: 'updates', updates });
    for (const [link, answers] of this.#answers)
      if (link.connected && this.#links.has(link)) link.send({ herald: 'updates', updates, answers });
    this.#answers.clear();
  }

  /** Serves one worker until the returned function is called (or the worker is gone). */
  attach(link: ClusterLink<FromRelay, unknown>): () => void {
    this.#links.add(link);
    const stop = link.listen((m) => {
      if (!isToRelay(m)) return;
      // In order: each publish appends to the outbox before the next starts.
      if (m.herald === 'publishes') for (const r of m.requests) void this.#serve(link, r);
      else void this.#serve(link, m);
    });
    return () => {
      stop();
      this.#links.delete(link);
    };
  }

  async #serve(
    link: ClusterLink<FromRelay, unknown>,
    m: Exclude<ToRelay, { herald: 'publishes' }>,
  ): Promise<void> {
    if (m.herald === 'publish') {
      // The broker appends to the outbox synchronously, from this index on.
      const from = this.#outbox.length;
      const flushes = this.#flushes;
      let updates: Update[];
      try {
        updates = await this.#broker.publish(m.inputs);
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        if (link.connected) link.send({ herald: 'published', id: m.id, error });
        return;
      }
      if (flushes === this.#flushes && this.#flushQueued) {
        const list = this.#answers.get(link) ?? [];
        list.push({ id: m.id, from, count: updates.length });
        this.#answers.set(link, list);
        return;
      }
      // A history answer flushed the outbox meanwhile: the updates went out first, as needed.
      if (link.connected) link.send({ herald: 'published', id: m.id, updates });
      return;
    }
    let answer: FromRelay;
    try {
      answer = { herald: 'history', id: m.id, page: await this.#broker.historyAfter(m.lastEventId, m.limit) };
    } catch (e) {
      answer = { herald: 'history', id: m.id, error: e instanceof Error ? e.message : String(e) };
    }
    if (this.#flushQueued) this.#flush();
    if (link.connected) link.send(answer);
  }

  async close(): Promise<void> {
    await this.#broker.close();
  }
}
