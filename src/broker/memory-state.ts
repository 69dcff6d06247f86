import { RATES_KEY, type JsonObject, type JsonValue, type StateOp } from '../protocol/state.ts';
import {
  applyStateOp,
  defaultStateLimits,
  isJsonObject,
  roundRate,
  setOwn,
  stateTooLarge,
  tooManyStates,
  type StateEntry,
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

interface Held {
  entry: StateEntry;
  rates: Map<string, RateWindow> | undefined;
}

export interface MemoryStateStoreOptions {
  limits?: StateLimits;
  now?: () => number;
}

/** Retained state in this process only (single node). The reference StateStore. */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly #topics = new Map<string, Held>();
  readonly #limits: StateLimits;
  readonly #now: () => number;
  #version = 0;

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#limits = options.limits ?? defaultStateLimits;
    this.#now = options.now ?? Date.now;
  }

  async apply(topic: string, op: StateOp, options: { private: boolean }): Promise<StateEntry> {
    const held = this.#topics.get(topic);
    if (op.kind === 'replace' && op.value === null) {
      this.#topics.delete(topic);
      return { topic, state: null, version: ++this.#version, private: options.private };
    }
    if (!held && this.#topics.size >= this.#limits.maxTopics) throw tooManyStates(this.#limits.maxTopics);
    let state = applyStateOp(held?.entry.state, op);
    let rates = held?.rates;
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
    const bytes = Buffer.byteLength(JSON.stringify(state));
    if (bytes > this.#limits.maxStateBytes) throw stateTooLarge(bytes, this.#limits.maxStateBytes);
    const entry: StateEntry = { topic, state, version: ++this.#version, private: options.private };
    this.#topics.set(topic, { entry, rates: rates && rates.size > 0 ? rates : undefined });
    return entry;
  }

  async get(topic: string): Promise<StateEntry | undefined> {
    return this.#topics.get(topic)?.entry;
  }

  async list(limit: number): Promise<StateEntry[]> {
    const out: StateEntry[] = [];
    for (const held of this.#topics.values()) {
      if (out.length >= limit) break;
      out.push(held.entry);
    }
    return out;
  }

  async close(): Promise<void> {}
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
