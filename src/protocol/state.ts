import { ErrorCode, HeraldError, invalidJson } from './errors.ts';

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Numbers to add, as a tree mirroring the state: `{ "indexed": 1, "byHost": { "a": 2 } }`. */
export type IncTree = { [key: string]: number | IncTree };

/**
 * What a publisher asks the hub to do to a topic's retained state.
 * - `replace`: the state becomes `value` (publish with `retain`); `null` forgets the topic's state.
 * - `patch`: RFC 7386 JSON Merge Patch `merge` is applied first, then the `inc` counters are
 *   added (missing ones start at 0), then `rate` windows are (re)configured. One atomic step.
 */
export type StateOp =
  | {
      kind: 'replace';
      value: JsonValue;
      /** The publisher's JSON text of `value`, when it was sent as JSON: a store may keep it as is. */
      text?: string;
    }
  | { kind: 'patch'; merge: JsonObject; inc?: IncTree; rate?: Record<string, number> };

/** Key, inside a state, where the hub writes the rolling rates it derives (events/s). */
export const RATES_KEY = '$rates';
/** Longest rate window, in seconds. */
export const MAX_RATE_WINDOW = 300;
/** Deepest nesting accepted in a patch or an increment tree. */
export const MAX_STATE_DEPTH = 32;

/** Body of a `herald.state` event (and each entry of a `herald.snapshot`). */
export interface StatePayload {
  topic: string;
  /** The whole merged state after this change; `null` when the state was removed. */
  state: JsonValue;
  /** Increases with every change, hub-wide; a smaller version is older. */
  version: number;
}

/** Body of the `herald.snapshot` event a subscriber gets first when it asks with `snapshot=1`. */
export interface SnapshotPayload {
  states: StatePayload[];
  /** True when more topics matched than the hub sends in one snapshot. */
  truncated: boolean;
}

/** Sets an own property even for keys like `__proto__`, which plain assignment would not. */
export function setOwnKey(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** `logMessage`: the same reason without the keys or values it quotes (they are payload). */
function bad(message: string, logMessage = message): HeraldError {
  return new HeraldError(ErrorCode.badPatch, message, { logMessage });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkDepth(v: unknown, depth: number, what: string): void {
  if (depth > MAX_STATE_DEPTH) throw bad(`${what} nested deeper than ${MAX_STATE_DEPTH} levels`);
  if (Array.isArray(v)) for (const x of v) checkDepth(x, depth + 1, what);
  else if (isObject(v)) for (const k in v) checkDepth(v[k], depth + 1, what);
}

function checkInc(tree: unknown, path: string): IncTree {
  if (!isObject(tree))
    throw bad(`"$inc${path}" must be an object of numbers`, '"$inc" must be an object of numbers');
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v))
        throw bad(`"$inc${path}.${k}" must be a finite number`, 'an "$inc" counter is not a finite number');
    } else if (isObject(v)) {
      // An empty branch would create an empty object, which no counter needs.
      if (Object.keys(v).length === 0)
        throw bad(`"$inc${path}.${k}" must not be empty`, 'an "$inc" branch is empty');
      checkInc(v, `${path}.${k}`);
    } else
      throw bad(
        `"$inc${path}.${k}" must be a number or an object of numbers`,
        'an "$inc" value is neither a number nor an object of numbers',
      );
  }
  return tree as IncTree;
}

/**
 * Turns a publisher's patch document into a StateOp: `$inc` and `$rate` are lifted out, the
 * rest is the merge patch. A `null` patch forgets the state.
 */
export function parseStatePatch(patch: unknown): StateOp {
  if (patch === null) return { kind: 'replace', value: null };
  if (!isObject(patch)) throw bad('patch must be a JSON object (RFC 7386 merge patch) or null');
  checkDepth(patch, 0, 'patch');
  const merge: JsonObject = {};
  const op: StateOp = { kind: 'patch', merge };
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$inc') op.inc = checkInc(v, '');
    else if (k === '$rate') op.rate = checkRate(v);
    else if (k.startsWith('$'))
      throw bad(
        `patch key ${JSON.stringify(k)} is reserved (use $inc or $rate)`,
        'a patch key starting with "$" is reserved (use $inc or $rate)',
      );
    else setOwnKey(merge, k, v as JsonValue);
  }
  return op;
}

function checkRate(v: unknown): Record<string, number> {
  if (!isObject(v)) throw bad('"$rate" must be an object: { "field": windowSeconds }');
  for (const [k, w] of Object.entries(v)) {
    if (k === '' || k.startsWith('$'))
      throw bad(`"$rate" field ${JSON.stringify(k)} is not allowed`, 'a "$rate" field name is not allowed');
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > MAX_RATE_WINDOW)
      throw bad(
        `"$rate.${k}" must be a whole number of seconds from 1 to ${MAX_RATE_WINDOW}`,
        `a "$rate" window is not a whole number of seconds from 1 to ${MAX_RATE_WINDOW}`,
      );
  }
  return v as Record<string, number>;
}

/** The state kept by `retain`: the data's JSON value, or the data string itself when it is not JSON. */
export function retainedValue(data: string): StateOp {
  let value: JsonValue;
  let json = true;
  try {
    value = JSON.parse(data) as JsonValue;
  } catch {
    value = data;
    json = false;
  }
  checkDepth(value, 0, 'retained data');
  return json ? { kind: 'replace', value, text: data } : { kind: 'replace', value };
}

/** Parses the data of a publish that asked for `patch`: it must be a JSON merge patch. */
export function patchFromData(data: string): StateOp {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (e) {
    throw invalidJson(ErrorCode.badPatch, 'patch data', e);
  }
  return parseStatePatch(value);
}
