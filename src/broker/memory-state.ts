import { RecentAnswers } from './idempotency.ts';
import { RATES_KEY, type JsonObject, type JsonValue, type StateOp } from '../protocol/state.ts';
import {
  applyStateOp,
  defaultStateLimits,
  heldTextBytes,
  isJsonObject,
  roundRate,
  setOwn,
  stateBudgetExceeded,
  stateTooLarge,
  tooManyStates,
  visibilityAfter,
  type StateEntry,
  type ApplyOptions,
  type StateLimits,
  type StateStore,
} from './state-store.ts';

/** Per-second sums over a sliding window: slot = second % window. */
interface RateWindow {
  window: number;
  first: number;
  seconds: number[];
  sums: number[];
}

/** One topic's state as held: its JSON text (compact, whatever its shape) and rate windows. */
interface Held {
  json: string;
  version: number;
  private: boolean;
  rates: Map<string, RateWindow> | undefined;
  /** What this topic costs in the hub-wide budget. */
  cost: number;
}

/**
 * What a keyed change leaves behind for its retries: its version and visibility, not its
 * state. Up to 100 000 keys are remembered, outside `maxTotalBytes`: holding each change's
 * whole entry would pin as many states' data.
 */
interface Remembered {
  version: number;
  private: boolean;
}

export interface MemoryStateStoreOptions {
  limits?: StateLimits;
  now?: () => number;
  /** How long a change's idempotency key is remembered (ms; 0 = never). */
  idempotencyWindowMs?: number;
}

/** Map entry, holder object and the topic string, roughly. */
const ENTRY_OVERHEAD = 160;

function rateBytes(rates: Map<string, RateWindow> | undefined): number {
  let n = 0;
  // Two arrays of `window` numbers per field (8 bytes each), plus the field's objects.
  for (const [field, w] of rates ?? []) n += 96 + 2 * field.length + 16 * w.window;
  return n;
}

/**
 * Retained state in this process only (single node). The reference StateStore.
 *
 * States are held as JSON text, not as parsed objects: a 63 KB state of a thousand tiny
 * objects would otherwise take over a megabyte of heap. What each topic really holds (text,
 * rate windows, bookkeeping) counts against `maxTotalBytes`.
 */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly #topics = new Map<string, Held>();
  readonly #limits: StateLimits;
  readonly #maxTotal: number;
  readonly #now: () => number;
  #version = 0;
  #total = 0;
  readonly #recent: RecentAnswers<Remembered>;

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#limits = options.limits ?? defaultStateLimits;
    this.#maxTotal = this.#limits.maxTotalBytes ?? this.#limits.maxTopics * this.#limits.maxStateBytes;
    this.#now = options.now ?? Date.now;
    this.#recent = new RecentAnswers(options.idempotencyWindowMs ?? 0, 100_000, this.#now);
  }

  /** Bytes all retained states hold now, as counted against `maxTotalBytes`. */
  get heldBytes(): number {
    return this.#total;
  }

  /** Idempotency keys remembered now (at most 100 000, each a few numbers). */
  get rememberedKeys(): number {
    return this.#recent.size;
  }

  async apply(topic: string, op: StateOp, options: ApplyOptions): Promise<StateEntry> {
    const first = this.#recent.get(options.idempotencyKey);
    if (first) return this.#retryAnswer(topic, first);
    const entry = this.#apply(topic, op, options);
    this.#recent.remember(options.idempotencyKey, {
      version: entry.version,
      private: entry.private,
    });
    return entry;
  }

  /**
   * A retry's answer: the first change's entry while the topic still holds that version (the
   * same text, shared), or its removal. Once a later change replaced it, the first state is
   * no longer held, and the retry gets the topic's current entry (or its removal): the broker recognises the same key and
   * publishes nothing, so this only shows if the broker forgot the key first, and then it
   * republishes the current state, never an older one.
   */
  #retryAnswer(topic: string, first: Remembered): StateEntry {
    const held = this.#topics.get(topic);
    if (held) return entryOf(topic, held);
    return { topic, state: null, version: first.version, private: first.private };
  }

  #apply(topic: string, op: StateOp, options: ApplyOptions): StateEntry {
    const held = this.#topics.get(topic);
    const priv = visibilityAfter(op, held?.private, options.private);
    if (op.kind === 'replace' && op.value === null) {
      if (held) {
        this.#topics.delete(topic);
        this.#total -= held.cost;
      }
      return { topic, state: null, version: ++this.#version, private: priv };
    }
    if (!held && this.#topics.size >= this.#limits.maxTopics) throw tooManyStates(this.#limits.maxTopics);
    let state = applyStateOp(held ? (JSON.parse(held.json) as JsonValue) : undefined, op);
    // A replacement that makes a private state public starts its rate windows afresh: the
    // old counts would tell what the private state was.
    let rates = held?.private && !priv ? undefined : held?.rates;
    if (op.kind === 'patch') {
      // Counting happens on copies, so a rejected change leaves the windows as they were.
      rates = cloneRates(rates);
      const sec = Math.floor(this.#now() / 1000);
      for (const [field, window] of Object.entries(op.rate ?? {})) {
        if (rates.get(field)?.window !== window) rates.set(field, newWindow(window, sec));
      }
      for (const [field, n] of Object.entries(op.inc ?? {})) {
        const w = typeof n === 'number' ? rates.get(field) : undefined;
        if (w) addToWindow(w, sec, n as number);
      }
      if (rates.size > 0) state = withRates(state as JsonObject, rates, sec);
    }
    // A retained text is kept as sent: the update published for it carries the same string.
    const json = op.kind === 'replace' && op.text !== undefined ? op.text : JSON.stringify(state);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.#limits.maxStateBytes) throw stateTooLarge(bytes, this.#limits.maxStateBytes);
    const kept = rates && rates.size > 0 ? rates : undefined;
    const cost = ENTRY_OVERHEAD + 2 * topic.length + heldTextBytes(json) + rateBytes(kept);
    const total = this.#total - (held?.cost ?? 0) + cost;
    if (total > this.#maxTotal) throw stateBudgetExceeded(total, this.#maxTotal);
    const version = ++this.#version;
    this.#topics.set(topic, { json, version, private: priv, rates: kept, cost });
    this.#total = total;
    return { topic, state, json, version, private: priv };
  }

  async get(topic: string): Promise<StateEntry | undefined> {
    const held = this.#topics.get(topic);
    return held && entryOf(topic, held);
  }

  async list(limit: number): Promise<StateEntry[]> {
    const out: StateEntry[] = [];
    for (const [topic, held] of this.#topics) {
      if (out.length >= limit) break;
      out.push(entryOf(topic, held));
    }
    return out;
  }

  async close(): Promise<void> {}
}

/** An entry whose state is parsed only when read: a snapshot reads few of the listed ones. */
function entryOf(topic: string, held: Held): StateEntry {
  const { json, version } = held;
  let parsed: JsonValue | undefined;
  return {
    topic,
    version,
    private: held.private,
    json,
    get state(): JsonValue {
      return (parsed ??= JSON.parse(json) as JsonValue);
    },
  };
}

function newWindow(window: number, sec: number): RateWindow {
  return {
    window,
    first: sec,
    seconds: new Array<number>(window).fill(-1),
    sums: new Array<number>(window).fill(0),
  };
}

function cloneRates(rates: Map<string, RateWindow> | undefined): Map<string, RateWindow> {
  const out = new Map<string, RateWindow>();
  for (const [k, w] of rates ?? []) out.set(k, { ...w, seconds: [...w.seconds], sums: [...w.sums] });
  return out;
}

function addToWindow(w: RateWindow, sec: number, n: number): void {
  const slot = sec % w.window;
  if (w.seconds[slot] !== sec) {
    w.seconds[slot] = sec;
    w.sums[slot] = 0;
  }
  w.sums[slot]! += n;
}

function withRates(state: JsonObject, rates: Map<string, RateWindow>, sec: number): JsonValue {
  const out: JsonObject = {};
  for (const k of Object.keys(state)) setOwn(out, k, state[k]!);
  const prev = out[RATES_KEY];
  const values: JsonObject = isJsonObject(prev) ? { ...prev } : {};
  for (const [field, w] of rates) {
    let sum = 0;
    for (let i = 0; i < w.window; i++) if (w.seconds[i]! > sec - w.window) sum += w.sums[i]!;
    setOwn(values, field, roundRate(sum, Math.max(1, Math.min(w.window, sec - w.first + 1))));
  }
  setOwn(out, RATES_KEY, values);
  return out;
}
