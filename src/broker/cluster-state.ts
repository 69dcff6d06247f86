import { HeraldError, isHeraldError, type ErrorCode } from '../protocol/errors.ts';
import type { JsonValue, StateOp } from '../protocol/state.ts';
import type { ClusterLink } from './cluster.ts';
import type { ApplyOptions, StateEntry, StateStore } from './state-store.ts';

/** A worker's state request to the primary (`--workers N` without Redis). */
export type ToStateOwner =
  | { herald: 'state-apply'; id: number; topic: string; op: StateOp; private: boolean; key?: string }
  | { herald: 'state-get'; id: number; topic: string }
  | { herald: 'state-list'; id: number; limit: number };

/** An entry as it crosses the link: the state as its JSON text, parsed where it is read. */
interface WireEntry {
  topic: string;
  json: string;
  version: number;
  private: boolean;
}

interface WireError {
  code?: ErrorCode;
  message: string;
  logMessage?: string;
  retryAfter?: number;
}

/** The primary's answer to one request. */
export interface FromStateOwner {
  herald: 'state-answer';
  id: number;
  entry?: WireEntry | null;
  entries?: WireEntry[];
  error?: WireError;
}

function toWire(e: StateEntry): WireEntry {
  return { topic: e.topic, json: e.json ?? JSON.stringify(e.state), version: e.version, private: e.private };
}

function fromWire(w: WireEntry): StateEntry {
  let parsed: JsonValue | undefined;
  const { json } = w;
  return {
    topic: w.topic,
    version: w.version,
    private: w.private,
    json,
    get state(): JsonValue {
      return (parsed ??= JSON.parse(json) as JsonValue);
    },
  };
}

function toWireError(e: unknown): WireError {
  if (isHeraldError(e))
    return {
      code: e.code,
      message: e.message,
      logMessage: e.logMessage,
      ...(e.retryAfter !== undefined ? { retryAfter: e.retryAfter } : {}),
    };
  return { message: e instanceof Error ? e.message : String(e) };
}

function fromWireError(w: WireError): Error {
  if (w.code === undefined) return new Error(w.message);
  return new HeraldError(w.code, w.message, {
    ...(w.logMessage !== undefined ? { logMessage: w.logMessage } : {}),
    ...(w.retryAfter !== undefined ? { retryAfter: w.retryAfter } : {}),
  });
}

function isStateRequest(m: unknown): m is ToStateOwner {
  const h = typeof m === 'object' && m !== null ? (m as { herald?: unknown }).herald : undefined;
  return h === 'state-apply' || h === 'state-get' || h === 'state-list';
}

/**
 * Runs in the primary of `--workers N` without Redis: the one owner of retained state. Every
 * worker's state change is applied here, one at a time, so increments from all workers add up
 * and versions grow hub-wide, as with one process. Returns the function that stops serving.
 */
export function serveState(link: ClusterLink<FromStateOwner, unknown>, store: StateStore): () => void {
  return link.listen((m) => {
    if (!isStateRequest(m)) return;
    void answer(m).then((reply) => {
      if (link.connected) link.send(reply);
    });
  });

  async function answer(m: ToStateOwner): Promise<FromStateOwner> {
    try {
      if (m.herald === 'state-apply')
        return {
          herald: 'state-answer',
          id: m.id,
          entry: toWire(
            await store.apply(m.topic, m.op, {
              private: m.private,
              ...(typeof m.key === 'string' ? { idempotencyKey: m.key } : {}),
            }),
          ),
        };
      if (m.herald === 'state-get') {
        const e = await store.get(m.topic);
        return { herald: 'state-answer', id: m.id, entry: e ? toWire(e) : null };
      }
      return { herald: 'state-answer', id: m.id, entries: (await store.list(m.limit)).map(toWire) };
    } catch (e) {
      return { herald: 'state-answer', id: m.id, error: toWireError(e) };
    }
  }
}

/**
 * The state store of a worker in `--workers N` without Redis: every call goes to the primary's
 * store (`serveState`). Keeping a state per worker would lose acknowledged changes: each
 * worker would count its own share of the increments and version its own changes.
 */
export class ClusterStateStore implements StateStore {
  readonly kind = 'cluster' as const;
  readonly #link: ClusterLink<ToStateOwner, unknown>;
  readonly #waiting = new Map<number, { resolve: (m: FromStateOwner) => void; reject: (e: Error) => void }>();
  readonly #stop: () => void;
  #nextId = 1;
  #closed = false;

  constructor(link: ClusterLink<ToStateOwner, unknown>) {
    this.#link = link;
    this.#stop = link.listen((m) => {
      const a = m as Partial<FromStateOwner> | null;
      if (typeof a !== 'object' || a === null || a.herald !== 'state-answer' || a.id === undefined) return;
      const waiter = this.#waiting.get(a.id);
      this.#waiting.delete(a.id);
      if (a.error) waiter?.reject(fromWireError(a.error));
      else waiter?.resolve(a as FromStateOwner);
    });
  }

  #ask(make: (id: number) => ToStateOwner): Promise<FromStateOwner> {
    if (this.#closed) return Promise.reject(new Error('cluster state store is closed'));
    if (!this.#link.connected) return Promise.reject(new Error('primary process is gone'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#link.send(make(id));
    });
  }

  async apply(topic: string, op: StateOp, options: ApplyOptions): Promise<StateEntry> {
    const a = await this.#ask((id) => ({
      herald: 'state-apply',
      id,
      topic,
      op,
      private: options.private,
      ...(options.idempotencyKey !== undefined ? { key: options.idempotencyKey } : {}),
    }));
    if (!a.entry) throw new Error('the primary answered a state change without its result');
    return fromWire(a.entry);
  }

  async get(topic: string): Promise<StateEntry | undefined> {
    const a = await this.#ask((id) => ({ herald: 'state-get', id, topic }));
    return a.entry ? fromWire(a.entry) : undefined;
  }

  async list(limit: number): Promise<StateEntry[]> {
    const a = await this.#ask((id) => ({ herald: 'state-list', id, limit }));
    return (a.entries ?? []).map(fromWire);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop();
    for (const w of this.#waiting.values()) w.reject(new Error('cluster state store closed'));
    this.#waiting.clear();
  }
}
