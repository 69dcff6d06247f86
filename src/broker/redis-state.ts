import { Redis, type Cluster } from 'ioredis';
import { RATES_KEY, type IncTree, type JsonObject, type JsonValue, type StateOp } from '../protocol/state.ts';
import {
  defaultStateLimits,
  incError,
  isJsonObject,
  setOwn,
  stateTooLarge,
  tooManyStates,
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
 */
const SCRIPT = `
local doc, topics, seqKey, rateKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local topic, priv, maxTopics, maxBytes, isPatch = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local ops = cjson.decode(ARGV[6])

-- A patch or a removal never lowers the visibility of a private state.
if ops[1] and ops[1].o == 'drop' then
  if redis.call('HGET', doc, '#p') == '1' then priv = '1' end
  redis.call('DEL', doc, rateKey)
  redis.call('SREM', topics, topic)
  return { redis.call('INCR', seqKey), {}, priv }
end
if redis.call('EXISTS', doc) == 0 and redis.call('SCARD', topics) >= maxTopics then
  return redis.error_reply('HERALD_TOO_MANY')
end

local T, before = {}, {}
local flat = redis.call('HGETALL', doc)
for i = 1, #flat, 2 do T[flat[i]] = flat[i + 1]; before[flat[i]] = flat[i + 1] end
local lowered = false
if before['#p'] == '1' and priv ~= '1' then
  if isPatch == '1' then priv = '1' else lowered = true end
end

local function fmt(n)
  if n ~= n or n == math.huge or n == -math.huge then return nil end
  if n == math.floor(n) and math.abs(n) < 9007199254740992 then return string.format('%d', n) end
  for p = 15, 17 do
    local s = string.format('%.' .. p .. 'g', n)
    if tonumber(s) == n then return s end
  end
  return string.format('%.17g', n)
end
local function prefixOf(f) return string.sub(f, 1, -2) .. ',' end
local function hasDesc(f)
  local p = prefixOf(f); local n = #p
  for k in pairs(T) do if string.sub(k, 1, n) == p then return true end end
  return false
end
local function delDesc(f)
  local p = prefixOf(f); local n = #p; local gone = {}
  for k in pairs(T) do if string.sub(k, 1, n) == p then gone[#gone + 1] = k end end
  for _, k in ipairs(gone) do T[k] = nil end
end
local function openAncestors(a)
  for _, af in ipairs(a) do if T[af] ~= nil then T[af] = nil end end
end

local R, rateFields, sec, ratesDirty = nil, {}, nil, false
local function loadRates()
  if R then return end
  R = {}
  local rf = redis.call('HGETALL', rateKey)
  for i = 1, #rf, 2 do R[rf[i]] = rf[i + 1] end
  sec = tonumber(redis.call('TIME')[1])
end

for _, op in ipairs(ops) do
  local o = op.o
  if o == 'clear' then
    local gone = {}
    for k in pairs(T) do if string.sub(k, 1, 1) == '[' then gone[#gone + 1] = k end end
    for _, k in ipairs(gone) do T[k] = nil end
  elseif o == 'root' then
    T['[]'] = nil
  elseif o == 'obj' then
    openAncestors(op.a)
    local v = T[op.f]
    if v ~= nil and v ~= '{}' then T[op.f] = '{}'
    elseif v == nil and not hasDesc(op.f) then T[op.f] = '{}' end
  elseif o == 'set' then
    openAncestors(op.a)
    if T[op.f] == nil or T[op.f] == '{}' then delDesc(op.f) end
    T[op.f] = op.v
  elseif o == 'del' then
    T[op.f] = nil
    delDesc(op.f)
    if op.p ~= '[]' and T[op.p] == nil and not hasDesc(op.p) then T[op.p] = '{}' end
  elseif o == 'inc' then
    for _, af in ipairs(op.a) do
      local v = T[af]
      if v == '{}' then T[af] = nil
      elseif v ~= nil then return redis.error_reply('HERALD_BAD_PATCH cannot increment inside "' .. op.d .. '": it is not an object') end
    end
    local n = tonumber(op.n)
    local v = T[op.f]
    local cur = 0
    if v == nil then
      if hasDesc(op.f) then return redis.error_reply('HERALD_BAD_PATCH cannot increment "' .. op.d .. '": it is not a number') end
    else
      cur = tonumber(v)
      if v == '{}' or cur == nil then return redis.error_reply('HERALD_BAD_PATCH cannot increment "' .. op.d .. '": it is not a number') end
    end
    local s = fmt(cur + n)
    if s == nil then return redis.error_reply('HERALD_BAD_PATCH "' .. op.d .. '" would overflow') end
    T[op.f] = s
    if op.r ~= '' then
      loadRates()
      local w = tonumber(R['w:' .. op.r])
      if w then
        local slot = op.r .. ':' .. (sec % w)
        if R['s:' .. slot] ~= tostring(sec) then R['s:' .. slot] = tostring(sec); R['v:' .. slot] = '0' end
        R['v:' .. slot] = fmt(tonumber(R['v:' .. slot]) + n)
        ratesDirty = true
      end
    end
  elseif o == 'rate' then
    loadRates()
    if R['w:' .. op.k] ~= tostring(op.w) then
      local gone = {}
      local pre1, pre2 = 's:' .. op.k .. ':', 'v:' .. op.k .. ':'
      for k in pairs(R) do
        if string.sub(k, 1, #pre1) == pre1 or string.sub(k, 1, #pre2) == pre2 then gone[#gone + 1] = k end
      end
      for _, k in ipairs(gone) do R[k] = nil end
      R['w:' .. op.k] = tostring(op.w); R['f:' .. op.k] = tostring(sec); R['o:' .. op.k] = op.f
      ratesDirty = true
    end
  end
end

if isPatch == '1' and (R or redis.call('EXISTS', rateKey) == 1) then
  loadRates()
  local any = false
  for k, w in pairs(R) do
    if string.sub(k, 1, 2) == 'w:' then
      local name = string.sub(k, 3); local win = tonumber(w); local sum = 0
      for slot = 0, win - 1 do
        local s = tonumber(R['s:' .. name .. ':' .. slot])
        if s and s > sec - win then sum = sum + tonumber(R['v:' .. name .. ':' .. slot]) end
      end
      local div = math.max(1, math.min(win, sec - tonumber(R['f:' .. name]) + 1))
      rateFields[#rateFields + 1] = { R['o:' .. name], fmt(math.floor(sum / div * 100 + 0.5) / 100) }
      any = true
    end
  end
  if any then
    local ratesField = ARGV[7]
    if T[ratesField] ~= nil then T[ratesField] = nil end
    for _, rf in ipairs(rateFields) do T[rf[1]] = rf[2] end
  end
end

local size, out = 0, {}
for k, v in pairs(T) do
  if string.sub(k, 1, 1) == '[' then
    size = size + #k + #v
    out[#out + 1] = k; out[#out + 1] = v
  end
end
if size > maxBytes then return redis.error_reply('HERALD_TOO_LARGE ' .. size) end

local version = redis.call('INCR', seqKey)
T['#v'] = tostring(version); T['#p'] = priv
local gone, set = {}, {}
for k in pairs(before) do if T[k] == nil then gone[#gone + 1] = k end end
for k, v in pairs(T) do if before[k] ~= v then set[#set + 1] = k; set[#set + 1] = v end end
-- unpack() is bounded by Lua's C stack, so large edits go in slices.
local function chunked(cmd, key, list, step)
  for i = 1, #list, step do redis.call(cmd, key, unpack(list, i, math.min(i + step - 1, #list))) end
end
chunked('HDEL', doc, gone, 1000)
chunked('HSET', doc, set, 1000)
redis.call('SADD', topics, topic)
-- A replacement that makes a private state public starts without the old rate windows.
if lowered then redis.call('DEL', rateKey) end
if ratesDirty then
  redis.call('DEL', rateKey)
  local rs = {}
  for k, v in pairs(R) do rs[#rs + 1] = k; rs[#rs + 1] = v end
  chunked('HSET', rateKey, rs, 1000)
end
return { version, out, priv }
`;

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
  /** A Redis URL, or a client this store may use (it is then not closed by `close`). */
  redis: string | Redis | Cluster;
  prefix?: string;
  limits?: StateLimits;
}

type StateCommand = (
  doc: string,
  topics: string,
  seq: string,
  rate: string,
  topic: string,
  priv: string,
  maxTopics: number,
  maxBytes: number,
  isPatch: string,
  ops: string,
  ratesField: string,
) => Promise<[number, string[], string]>;

/**
 * Retained state in Redis, shared by every node. Each change is one Lua script run, so
 * concurrent merges and increments from any number of publishers on any number of nodes are
 * applied one at a time and add up exactly.
 */
export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly #redis: Redis | Cluster;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #limits: StateLimits;
  readonly #run: StateCommand;

  constructor(options: RedisStateStoreOptions) {
    this.#owned = typeof options.redis === 'string';
    this.#redis =
      typeof options.redis === 'string'
        ? new Redis(options.redis, { maxRetriesPerRequest: 2, lazyConnect: false })
        : options.redis;
    this.#prefix = options.prefix ?? 'herald:state:';
    this.#limits = options.limits ?? defaultStateLimits;
    // Swallowed here because every command reports its own failure to its caller.
    if (this.#owned) this.#redis.on('error', () => {});
    this.#redis.defineCommand('heraldStateApply', { numberOfKeys: 4, lua: SCRIPT });
    this.#run = (this.#redis as unknown as { heraldStateApply: StateCommand }).heraldStateApply.bind(
      this.#redis,
    );
  }

  async apply(topic: string, op: StateOp, options: { private: boolean }): Promise<StateEntry> {
    const p = this.#prefix;
    let reply: [number, string[], string];
    try {
      reply = await this.#run(
        `${p}doc:${topic}`,
        `${p}topics`,
        `${p}seq`,
        `${p}rate:${topic}`,
        topic,
        options.private ? '1' : '0',
        this.#limits.maxTopics,
        this.#limits.maxStateBytes,
        op.kind === 'patch' ? '1' : '0',
        JSON.stringify(compileOps(op)),
        field([RATES_KEY]),
      );
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
