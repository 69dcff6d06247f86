import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import { setOwnKey, type IncTree, type JsonObject, type JsonValue, type StateOp } from '../protocol/state.ts';

/** One topic's retained state. */
export interface StateEntry {
  topic: string;
  /** The state; `null` only in the result of an `apply` that removed it. */
  state: JsonValue;
  /** Hub-wide increasing number of the change that produced this state. */
  version: number;
  /**
   * Only subscribers allowed to receive private updates on the topic may see it. After an
   * `apply`, the visibility the change must be published with: a patch never lowers it.
   */
  private: boolean;
  /** The state as JSON text, when the store holds it in that form (shared, not copied again). */
  json?: string;
}

/** Bounds that keep retained state from growing without limit. */
export interface StateLimits {
  /** Most topics with a retained state. */
  maxTopics: number;
  /** Largest state of one topic, in bytes of its stored form (about its JSON size). */
  maxStateBytes: number;
  /**
   * Most bytes all retained states may hold together (in-memory store: the heap they take,
   * text and rate windows), whatever their shape. Unset: maxTopics × maxStateBytes.
   */
  maxTotalBytes?: number;
}

export const defaultStateLimits: StateLimits = {
  maxTopics: 10_000,
  maxStateBytes: 64 * 1024,
  maxTotalBytes: 128 * 1024 * 1024,
};

/** How one change is applied. */
export interface ApplyOptions {
  private: boolean;
  /**
   * The publish's idempotency key: a change whose key the store saw within its idempotency
   * window is not applied again (a retried `$inc` counts once); `apply` answers the first
   * change's entry.
   */
  idempotencyKey?: string;
}

/**
 * Retained state per topic (Herald's state topics). An optional ability next to the Broker:
 * with several nodes it must live where every node sees it (Redis), so that every node's
 * snapshot agrees and concurrent increments from any number of publishers add up exactly.
 *
 * Contract: `apply` is atomic per topic (a concurrent apply sees all of another or none of
 * it), versions grow with every change across all topics, and a failed apply (bad patch,
 * over a limit) changes nothing and rejects with a HeraldError.
 *
 * Visibility: a patch (or a removal) never makes a private state public; it stays private
 * whatever the patch says, and the entry `apply` returns says so. Only a full replacement,
 * which reveals nothing of the old state, sets the visibility the publisher asks for.
 */
export interface StateStore {
  readonly kind: 'memory' | 'redis' | 'cluster';
  /** Applies one change; resolves with the state after it (`state: null` once removed). */
  apply(topic: string, op: StateOp, options: ApplyOptions): Promise<StateEntry>;
  get(topic: string): Promise<StateEntry | undefined>;
  /** Up to `limit` retained states, in no particular order (snapshots of templates, the dashboard). */
  list(limit: number): Promise<StateEntry[]>;
  close(): Promise<void>;
}

/**
 * Heap taken by a string: V8 keeps text within Latin-1 at one byte per character, anything
 * else at two.
 */
export function heldTextBytes(text: string): number {
  return 16 + text.length * (/[\u0100-\uffff]/.test(text) ? 2 : 1);
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const setOwn = setOwnKey;

function getOwn(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function copy(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(obj)) setOwn(out, k, obj[k]!);
  return out;
}

/** RFC 7386 JSON Merge Patch; returns a new value and leaves `target` untouched. */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const out = isJsonObject(target) ? copy(target) : {};
  for (const k of Object.keys(patch)) {
    const v = patch[k]!;
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(getOwn(out, k), v));
  }
  return out;
}

function addInc(obj: JsonObject, inc: IncTree, path: string): JsonObject {
  const out = copy(obj);
  for (const k of Object.keys(inc)) {
    const v = inc[k]!;
    const p = path === '' ? k : `${path}.${k}`;
    const cur = getOwn(out, k);
    if (typeof v === 'number') {
      if (cur === undefined) setOwn(out, k, v);
      else if (typeof cur === 'number') {
        const sum = cur + v;
        if (!Number.isFinite(sum)) throw incError(`"${p}" would overflow`);
        setOwn(out, k, sum);
      } else throw incError(`cannot increment "${p}": it is not a number`);
    } else if (cur === undefined) setOwn(out, k, addInc({}, v, p));
    else if (isJsonObject(cur)) setOwn(out, k, addInc(cur, v, p));
    else throw incError(`cannot increment inside "${p}": it is not an object`);
  }
  return out;
}

/** The path a message names is the publisher's (payload): logs get the reason without it. */
export function incError(message: string): HeraldError {
  return new HeraldError(ErrorCode.badPatch, message, { logMessage: message.replace(/"[^]*"/, 'a field') });
}

/** The state after `op` (rates aside): the reference semantics every StateStore follows. */
export function applyStateOp(current: JsonValue | undefined, op: StateOp): JsonValue {
  if (op.kind === 'replace') return op.value;
  let next = mergePatch(current, op.merge) as JsonObject;
  if (op.inc) next = addInc(next, op.inc, '');
  return next;
}

/** Rolling rate to two decimals, as both stores compute it. */
export function roundRate(sum: number, divisorSeconds: number): number {
  return Math.round((sum / divisorSeconds) * 100) / 100;
}

export function stateTooLarge(bytes: number, max: number): HeraldError {
  return new HeraldError(
    ErrorCode.stateTooLarge,
    `retained state would be ${bytes} bytes, more than the ${max} allowed per topic`,
  );
}

/** Visibility of a state after `op`: a patch or removal never lowers it (see StateStore). */
export function visibilityAfter(op: StateOp, wasPrivate: boolean | undefined, asked: boolean): boolean {
  if (op.kind === 'replace' && op.value !== null) return asked;
  return asked || wasPrivate === true;
}

export function stateBudgetExceeded(bytes: number, max: number): HeraldError {
  return new HeraldError(
    ErrorCode.tooManyStates,
    `retained states would hold ${bytes} bytes, more than the ${max} allowed hub-wide (--max-state-total-bytes)`,
  );
}

export function tooManyStates(max: number): HeraldError {
  return new HeraldError(ErrorCode.tooManyStates, `the hub already retains state for ${max} topics`);
}
