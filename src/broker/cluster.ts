import type { PublishInput, Update } from '../protocol/update.ts';
import type { Broker, BrokerHealth, HealthReporting, HistoryPage } from './broker.ts';
import { MemoryBroker, type MemoryBrokerOptions } from './memory.ts';

/** A worker's requests to the primary's relay. */
export type ToRelay =
  | { herald: 'publish'; id: number; inputs: readonly PublishInput[] }
  | { herald: 'history'; id: number; lastEventId: string; limit: number };

/** The relay's messages to a worker: updates for everyone, answers for one. */
export type FromRelay =
  | { herald: 'updates'; updates: Update[] }
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
        return;
      }
      // The link also carries other parts' answers (retained state): only ours are looked up.
      if (m.herald !== 'published' && m.herald !== 'history') return;
      const answer = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      answer?.(m);
    });
  }

  #ask(make: (id: number) => ToRelay): Promise<FromRelay> {
    if (this.#closed) return Promise.reject(new Error('cluster broker is closed'));
    if (!this.#link.connected) return Promise.reject(new Error('primary process is gone'));
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#link.send(make(id));
    });
  }

  async publish(inputs: readonly PublishInput[]): Promise<Update[]> {
    const answer = await this.#ask((id) => ({ herald: 'publish', id, inputs }));
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
  return h === 'publish' || h === 'history';
}

/**
 * Runs in the primary process of `--workers N`: owns the history (a MemoryBroker) and relays
 * every update to every attached worker. Updates stored during one turn leave in one message
 * per worker.
 */
export class ClusterRelay {
  readonly #broker: MemoryBroker;
  readonly #links = new Set<ClusterLink<FromRelay, unknown>>();
  #outbox: Update[] = [];
  #flushQueued = false;

  constructor(broker: MemoryBroker) {
    this.#broker = broker;
  }

  async start(): Promise<void> {
    await this.#broker.start((u) => {
      this.#outbox.push(u);
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        // A microtask: after the broker's synchronous loop, before the publish answer is sent.
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushQueued = false;
    const updates = this.#outbox;
    this.#outbox = [];
    for (const link of this.#links) if (link.connected) link.send({ herald: 'updates', updates });
  }

  /** Serves one worker until the returned function is called (or the worker is gone). */
  attach(link: ClusterLink<FromRelay, unknown>): () => void {
    this.#links.add(link);
    const stop = link.listen((m) => {
      if (isToRelay(m)) void this.#serve(link, m);
    });
    return () => {
      stop();
      this.#links.delete(link);
    };
  }

  async #serve(link: ClusterLink<FromRelay, unknown>, m: ToRelay): Promise<void> {
    if (m.herald === 'publish') {
      let answer: FromRelay;
      try {
        answer = { herald: 'published', id: m.id, updates: await this.#broker.publish(m.inputs) };
      } catch (e) {
        answer = { herald: 'published', id: m.id, error: e instanceof Error ? e.message : String(e) };
      }
      // Pending relay messages go first: the worker dispatches before its publish resolves.
      if (this.#flushQueued) this.#flush();
      if (link.connected) link.send(answer);
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
