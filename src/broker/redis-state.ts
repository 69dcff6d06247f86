import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BrokerHealth, HealthReporting } from './broker.ts';
import { createRedisClient, errorMessage, parseRedisTarget, redactUrl } from './redis-client.ts';
import { defineScripts, runScript, stateScripts } from './redis-scripts.ts';
import { RATES_KEY, type IncTree, type JsonObject, type JsonValue, type StateOp } from '../protocol/state.ts';
import {
  defaultStateLimits,
  incError,
  isJsonObject,
  setOwn,
  stateTooLarge,
  tooManyStates,
  type ApplyOptions,
  type StateEntry,
  type StateLimits,
  type StateStore,
} from './state-store.ts';

/*
 * Layout (prefix `herald:state:` by default):
 *   {p}doc:{topic}   hash: the state flattened, one field per leaf. The field is the JSON array
 *                    of the path (`["byHost","a"]`, `[]` for a non-object root), the value the
 *                    leaf's JSON text exactly as JavaScript wrote it; `{}` marks an empty object.
 *                    Arrays are leaves, as merge patch replaces them whole. `#v` = version,
 *                    `#p` = private.
 *   {p}rate:{topic}  hash: rate windows (`w:f` seconds, `f:f` first second, `o:f` output
 *                    field, `s:f:slot` second of the slot, `v:f:slot` its sum).
 *   {p}topics        set of topics with a state.     {p}seq  version counter.
 * Redis' Lua JSON encoder writes 14 significant digits and cannot tell [] from {}, so the
 * script never decodes or encodes a state: it edits leaves, and only numbers it adds are
 * formatted in Lua (shortest form that reads back to the same double).
 * The change itself is lua/state-apply.lua.
 */

type Op =
  | { o: 'drop' | 'clear' | 'root' }
  | { o: 'obj'; f: string; a: string[] }
  | { o: 'set'; f: string; v: string; a: string[] }
  | { o: 'del'; f: string; p: string }
  | { o: 'inc'; f: string; n: string; a: string[]; d: string; r: string }
  | { o: 'rate'; k: string; w: number; f: string };

const field = (path: readonly string[]): string => JSON.stringify(path);
const ancestors = (path: readonly string[]): string[] => {
  const out: string[] = [];
  for (let i = 1; i < path.length; i++) out.push(field(path.slice(0, i)));
  return out;
};

/** Translates a StateOp into the leaf edits the script performs. Exported for tests. */
export function compileOps(op: StateOp): Op[] {
  if (op.kind === 'replace') {
    if (op.value === null) return [{ o: 'drop' }];
    const ops: Op[] = [{ o: 'clear' }];
    if (isJsonObject(op.value)) walkMerge([], op.value, ops, false);
    else ops.push({ o: 'set', f: '[]', v: JSON.stringify(op.value), a: [] });
    return ops;
  }
  const ops: Op[] = [{ o: 'root' }];
  for (const [k, w] of Object.entries(op.rate ?? {})) ops.push({ o: 'rate', k, w, f: field([RATES_KEY, k]) });
  walkMerge([], op.merge, ops, true);
  if (op.inc) walkInc([], op.inc, ops);
  return ops;
}

function walkMerge(path: string[], obj: JsonObject, ops: Op[], patch: boolean): void {
  for (const k of Object.keys(obj)) {
    const v = obj[k]!;
    const p = [...path, k];
    if (v === null && patch) ops.push({ o: 'del', f: field(p), p: field(path) });
    else if (isJsonObject(v)) {
      ops.push({ o: 'obj', f: field(p), a: ancestors(p) });
      walkMerge(p, v, ops, patch);
    } else ops.push({ o: 'set', f: field(p), v: JSON.stringify(v), a: ancestors(p) });
  }
}

function walkInc(path: string[], tree: IncTree, ops: Op[]): void {
  for (const k of Object.keys(tree)) {
    const v = tree[k]!;
    const p = [...path, k];
    if (typeof v === 'number')
      ops.push({
        o: 'inc',
        f: field(p),
        n: String(v),
        a: ancestors(p),
        d: p.join('.'),
        r: p.length === 1 ? k : '',
      });
    else walkInc(p, v, ops);
  }
}

/** Rebuilds a state from its leaves (HGETALL output or the script's reply). */
export function unflatten(flat: readonly string[]): JsonValue {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    if (flat[i]!.startsWith('[')) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const root: JsonObject = {};
  for (const [f, text] of pairs) {
    if (f === '[]') return JSON.parse(text) as JsonValue;
    const path = JSON.parse(f) as string[];
    let node = root;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i]!;
      let next = Object.hasOwn(node, k) ? node[k] : undefined;
      if (!isJsonObject(next)) setOwn(node, k, (next = {}));
      node = next;
    }
    const last = path[path.length - 1]!;
    if (text === '{}' && isJsonObject(Object.hasOwn(node, last) ? node[last] : undefined)) continue;
    setOwn(node, last, JSON.parse(text) as JsonValue);
  }
  return root;
}

export interface RedisStateStoreOptions {
  /**
   * A single-instance Redis URL, or a client this store may use (closed by `close` only when
   * `owned`).
   */
  redis: string | Redis | Cluster;
  /** Whether `close` disconnects the client (always when `redis` is a URL). */
  owned?: boolean;
  prefix?: string;
  limits?: StateLimits;
  /** Hears the store's connection going down and coming back (one line each, address included). */
  logger?: Logger;
  /** Where the client connects, for those log lines (passwords redacted). */
  url?: string;
  /** How long a change's idempotency key is remembered (ms; 0 = never). */
  idempotencyWindowMs?: number;
}

/**
 * Retained state in Redis, shared by every node. Each change is one Lua script run, so
 * concurrent merges and increments from any number of publishers on any number of nodes are
 * applied one at a time and add up exactly.
 */
export class RedisStateStore implements StateStore, HealthReporting {
  readonly kind = 'redis' as const;
  readonly #redis: Redis | Cluster;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #limits: StateLimits;
  readonly #idempotencyMs: number;
  #lastError: string | undefined;
  #closed = false;

  constructor(options: RedisStateStoreOptions) {
    const url = typeof options.redis === 'string' ? options.redis : undefined;
    this.#owned = url !== undefined || options.owned === true;
    if (url !== undefined) {
      const target = parseRedisTarget(url);
      if (target.kind === 'cluster') throw new Error('a Redis Cluster needs createRedisStateStore');
      this.#redis = createRedisClient(target, { maxRetriesPerRequest: 2 });
    } else this.#redis = options.redis as Redis | Cluster;
    this.#prefix = options.prefix ?? 'herald:state:';
    this.#limits = options.limits ?? defaultStateLimits;
    this.#idempotencyMs = Math.max(0, options.idempotencyWindowMs ?? 0);
    this.#watch(options.logger, url === undefined ? options.url : redactUrl(url));
    defineScripts(this.#redis, stateScripts);
  }

  /**
   * Every command reports its own failure to its caller; the connection's state is kept for
   * `health()` (so `/readyz` says not ready while it is down) and its changes logged once.
   */
  #watch(logger: Logger | undefined, url: string | undefined): void {
    let down = false;
    this.#redis.on('error', (e: unknown) => {
      this.#lastError = errorMessage(e);
    });
    this.#redis.on('close', () => {
      if (this.#closed || down) return;
      down = true;
      logger?.warn(
        { event: 'state-store-down', url, err: this.#lastError },
        'state store lost its Redis connection',
      );
    });
    this.#redis.on('ready', () => {
      if (!down) return;
      down = false;
      this.#lastError = undefined;
      logger?.info({ event: 'state-store-up', url }, 'state store reconnected to Redis');
    });
  }

  health(): BrokerHealth {
    if (this.#redis.status === 'ready') return { kind: this.kind, ready: true };
    return { kind: this.kind, ready: false, detail: this.#lastError ?? this.#redis.status };
  }

  async apply(topic: string, op: StateOp, options: ApplyOptions): Promise<StateEntry> {
    const p = this.#prefix;
    let reply: [number, string[], string];
    try {
      reply = (await runScript(
        this.#redis,
        stateScripts.apply,
        [
          `${p}doc:${topic}`,
          `${p}topics`,
          `${p}seq`,
          `${p}rate:${topic}`,
          `${p}idem:${options.idempotencyKey ?? ''}`,
        ],
        [
          topic,
          options.private ? '1' : '0',
          this.#limits.maxTopics,
          this.#limits.maxStateBytes,
          op.kind === 'patch' ? '1' : '0',
          JSON.stringify(compileOps(op)),
          field([RATES_KEY]),
          options.idempotencyKey === undefined ? 0 : this.#idempotencyMs,
        ],
      )) as [number, string[], string];
    } catch (e) {
      throw translate(e, this.#limits);
    }
    const [version, flat, priv] = reply;
    const removed = op.kind === 'replace' && op.value === null;
    return {
      topic,
      state: removed ? null : unflatten(flat),
      version: Number(version),
      private: priv === '1',
    };
  }

  async get(topic: string): Promise<StateEntry | undefined> {
    const flat = await this.#redis.hgetall(`${this.#prefix}doc:${topic}`);
    return entryOf(topic, flat);
  }

  async list(limit: number): Promise<StateEntry[]> {
    const topics = (await this.#redis.smembers(`${this.#prefix}topics`)).slice(0, limit);
    if (topics.length === 0) return [];
    const pipe = this.#redis.pipeline();
    for (const t of topics) pipe.hgetall(`${this.#prefix}doc:${t}`);
    const results = (await pipe.exec()) ?? [];
    const out: StateEntry[] = [];
    results.forEach(([err, flat], i) => {
      if (err) throw err;
      const entry = entryOf(topics[i]!, flat as Record<string, string>);
      if (entry) out.push(entry);
    });
    return out;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#owned) this.#redis.disconnect();
  }
}

function entryOf(topic: string, hash: Record<string, string>): StateEntry | undefined {
  const version = hash['#v'];
  if (version === undefined) return undefined;
  const flat: string[] = [];
  for (const [k, v] of Object.entries(hash)) flat.push(k, v);
  return { topic, state: unflatten(flat), version: Number(version), private: hash['#p'] === '1' };
}

function translate(e: unknown, limits: StateLimits): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /HERALD_(BAD_PATCH|TOO_LARGE|TOO_MANY)\s*(.*)$/.exec(msg);
  if (!m) return e instanceof Error ? e : new Error(msg);
  if (m[1] === 'TOO_MANY') return tooManyStates(limits.maxTopics);
  if (m[1] === 'TOO_LARGE') return stateTooLarge(Number(m[2]), limits.maxStateBytes);
  return incError(m[2]!.replace(/ script: .*$/, ''));
}
