import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Everything Herald asks of Redis, behind one small surface: the broker never touches the
 * client library directly, so Sentinel or Cluster can be added here later.
 *
 * Two connections per node: `command` (publish, history) and `subscriber` (one Pub/Sub
 * channel for the whole node, however many clients the node serves).
 */

/** One stream entry as the broker stores it: its stream id and the serialized update. */
export interface StreamEntry {
  streamId: string;
  payload: string;
}

export interface RedisConnectionOptions {
  url: string;
  /** Connection options to use instead of the URL's (a Sentinel-managed primary). */
  redisOptions?: RedisOptions;
  /** Prefix of every key and channel, so several hubs can share one Redis. */
  prefix: string;
  /** Shown in `CLIENT LIST`, e.g. `herald-host-1234`. */
  name: string;
  /** Commands not answered within this are failed (a hung Redis must not hang publishers). */
  commandTimeoutMs: number;
  /** Longest wait between reconnect attempts. */
  maxReconnectDelayMs: number;
  onCommandState(up: boolean, error?: Error): void;
  onSubscriberState(up: boolean, error?: Error): void;
  onMessage(message: string): void;
}

// Appends every update of a batch to the stream, indexes its id, trims by count and age, and
// publishes each stored entry: one atomic step, so the Pub/Sub order is the stream order.
// KEYS: stream, id index, channel. ARGV: maxlen, ttlMs, then (id, payload) pairs.
// Each entry has fields i=<update id>, u=<payload>. The id index maps an update id to the
// stream id of its earliest retained occurrence; trimming removes index rows with the entry.
// Trimming happens on the write path only, and remembers the newest id it removed (KEYS[4]
// of the publish script): a node catching up from before it knows updates were lost.
const TRIM = `
local function drop(stream, idx, entries, trimmedKey)
  for _, e in ipairs(entries) do
    local id = e[2][2]
    if redis.call('HGET', idx, id) == e[1] then redis.call('HDEL', idx, id) end
  end
  if #entries > 0 then redis.call('SET', trimmedKey, entries[#entries][1]) end
end
local function trim(stream, idx, trimmedKey, maxlen, ttl)
  local excess = redis.call('XLEN', stream) - maxlen
  if excess > 0 then
    drop(stream, idx, redis.call('XRANGE', stream, '-', '+', 'COUNT', excess), trimmedKey)
    redis.call('XTRIM', stream, 'MAXLEN', maxlen)
  end
  if ttl > 0 then
    local t = redis.call('TIME')
    local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl
    if cutoff > 0 then
      local old = redis.call('XRANGE', stream, '-', '(' .. cutoff .. '-0')
      if #old > 0 then
        drop(stream, idx, old, trimmedKey)
        redis.call('XTRIM', stream, 'MINID', cutoff .. '-0')
      end
    end
  end
end
`;

const PUBLISH_SCRIPT = `${TRIM}
local stream, idx, channel, trimmedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local maxlen, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids = {}
for i = 3, #ARGV, 2 do
  local sid = redis.call('XADD', stream, '*', 'i', ARGV[i], 'u', ARGV[i + 1])
  redis.call('HSETNX', idx, ARGV[i], sid)
  ids[#ids + 1] = sid
end
trim(stream, idx, trimmedKey, maxlen, ttl)
for n, sid in ipairs(ids) do
  redis.call('PUBLISH', channel, sid .. ' ' .. ARGV[2 + 2 * n])
end
return ids
`;

// Resolves an update id to its stream position and reads what follows, atomically, so an
// entry cannot be trimmed between the look-up and the read. Read-only (it may run on a
// replica): entries past the age limit that no publish has trimmed yet are left out here.
// KEYS: stream, id index. ARGV: lastEventId ('' = from the start), limit, ttlMs.
// Returns {found (0/1), sid1, payload1, sid2, payload2, ...}.
const HISTORY_SCRIPT = `#!lua flags=no-writes
local stream, idx = KEYS[1], KEYS[2]
local after, limit, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local cutoff = nil
if ttl > 0 then
  local t = redis.call('TIME')
  cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - ttl
end
local function expired(sid)
  return cutoff ~= nil and tonumber(string.sub(sid, 1, string.find(sid, '-', 1, true) - 1)) < cutoff
end
local start, anchor = '-', ''
if after ~= '' then
  local sid = redis.call('HGET', idx, after)
  if not sid or expired(sid) then return {0} end
  start = '(' .. sid
  local a = redis.call('XRANGE', stream, sid, sid)
  if a[1] then anchor = a[1][2][4] end
end
local out = {1, anchor}
if limit <= 0 then return out end
for _, e in ipairs(redis.call('XRANGE', stream, start, '+', 'COUNT', limit)) do
  if not expired(e[1]) then
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][4]
  end
end
return out
`;

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});
const publishScript = script(PUBLISH_SCRIPT);
const historyScript = script(HISTORY_SCRIPT);

/** Parses and checks a Redis URL; throws a one-line reason when it cannot be used. */
export function redisUrlOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(redactUrl(url))}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new Error(`unsupported scheme ${JSON.stringify(u.protocol)}; use redis:// or rediss://`);
  if (!u.hostname) throw new Error('the URL names no host');
  const dbPath = decodeURIComponent(u.pathname.replace(/^\//, ''));
  let db = 0;
  if (dbPath !== '') {
    if (!/^\d{1,5}$/.test(dbPath))
      throw new Error(`database must be a number, got ${JSON.stringify(dbPath)}`);
    db = Number(dbPath);
  }
  const port = u.port === '' ? 6379 : Number(u.port);
  const options: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  // TLS verification uses the system CAs plus NODE_EXTRA_CA_CERTS.
  if (u.protocol === 'rediss:') options.tls = isIP(options.host!) ? {} : { servername: options.host! };
  return options;
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

/** The broker's keys and channel for a prefix (one cluster per prefix). */
export function brokerKeys(prefix: string): {
  stream: string;
  ids: string;
  channel: string;
  trimmed: string;
} {
  return {
    stream: `{${prefix}}:stream`,
    ids: `{${prefix}}:ids`,
    channel: `${prefix}:updates`,
    trimmed: `{${prefix}}:trimmed`,
  };
}

/** The two connections a Redis-backed node holds, and the few operations Herald uses. */
export class RedisConnection {
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #keys: ReturnType<typeof brokerKeys>;
  #closed = false;
  #lastError: Error | undefined;

  constructor(options: RedisConnectionOptions) {
    const base: RedisOptions = {
      ...(options.redisOptions ?? redisUrlOptions(options.url)),
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), options.maxReconnectDelayMs),
      // A command either runs now or fails now: the caller turns the failure into a 503 rather
      // than holding a publisher while Redis is away, and an unanswered publish is never
      // silently replayed later.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    };
    this.#keys = brokerKeys(options.prefix);
    this.#command = new Redis({ ...base, connectionName: `${options.name}-cmd` });
    // The broker resubscribes itself on every reconnect, after which it reads what it missed.
    this.#subscriber = new Redis({
      ...base,
      connectionName: `${options.name}-sub`,
      autoResubscribe: false,
      enableOfflineQueue: true,
      commandTimeout: undefined,
    });
    this.#watch(this.#command, options.onCommandState);
    this.#watch(this.#subscriber, options.onSubscriberState);
    this.#subscriber.on('message', (_channel: string, message: string) => options.onMessage(message));
  }

  #watch(client: Redis, report: (up: boolean, error?: Error) => void): void {
    client.on('error', (e: Error) => {
      this.#lastError = e;
    });
    client.on('ready', () => report(true));
    client.on('close', () => {
      if (!this.#closed) report(false, this.#lastError);
    });
  }

  /** Opens both connections; rejects with Redis's reason (bad password, refused...). */
  async connect(): Promise<void> {
    try {
      await Promise.all([this.#command.connect(), this.#subscriber.connect()]);
    } catch (e) {
      // ioredis rejects with "Connection is closed."; the reason came as an 'error' event.
      throw this.#lastError ?? e;
    }
  }

  get commandReady(): boolean {
    return this.#command.status === 'ready';
  }

  get subscriberReady(): boolean {
    return this.#subscriber.status === 'ready';
  }

  /** Subscribes the node's single Pub/Sub connection to the update channel. */
  async subscribe(): Promise<void> {
    await this.#subscriber.subscribe(this.#keys.channel);
  }

  /** Appends and publishes a batch atomically; resolves with the stream ids, in order. */
  async appendAndPublish(
    entries: readonly { id: string; payload: string }[],
    maxLen: number,
    ttlMs: number,
  ): Promise<string[]> {
    const args: string[] = [String(maxLen), String(ttlMs)];
    for (const e of entries) args.push(e.id, e.payload);
    const k = this.#keys;
    return (await this.#eval(publishScript, [k.stream, k.ids, k.channel, k.trimmed], args)) as string[];
  }

  /** Entries after the position of `lastEventId` (undefined = from the oldest retained). */
  async history(
    lastEventId: string | undefined,
    limit: number,
    ttlMs: number,
  ): Promise<{ found: boolean; entries: StreamEntry[]; from?: StreamEntry }> {
    const k = this.#keys;
    const reply = (await this.#eval(
      historyScript,
      [k.stream, k.ids],
      [lastEventId ?? '', String(limit), String(ttlMs)],
    )) as (number | string)[];
    if (reply[0] === 0) return { found: false, entries: [] };
    const entries: StreamEntry[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2)
      entries.push({ streamId: String(reply[i]), payload: String(reply[i + 1]) });
    const anchor = String(reply[1] ?? '');
    return anchor === ''
      ? { found: true, entries }
      : { found: true, entries, from: { streamId: '', payload: anchor } };
  }

  /** Up to `count` entries strictly after stream id `after`, oldest first. */
  async rangeAfter(after: string, count: number): Promise<StreamEntry[]> {
    const raw = (await this.#command.xrange(this.#keys.stream, `(${after}`, '+', 'COUNT', count)) as [
      string,
      string[],
    ][];
    return raw.map(([streamId, fields]) => ({ streamId, payload: fields[3] ?? '' }));
  }

  /** The newest stream id trimming removed, or `0-0` when none was. */
  async trimmedUpTo(): Promise<string> {
    return (await this.#command.get(this.#keys.trimmed)) ?? '0-0';
  }

  /** The newest stream id, or `0-0` when the stream is empty or absent. */
  async lastStreamId(): Promise<string> {
    const raw = (await this.#command.xrevrange(this.#keys.stream, '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    return raw[0]?.[0] ?? '0-0';
  }

  async #eval(s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.#command.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (e) {
      // The script cache is empty after a Redis restart: send the source once.
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return await this.#command.eval(s.source, keys.length, ...keys, ...args);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [this.#command, this.#subscriber].map(async (c) => {
        try {
          if (c.status === 'ready') await c.quit();
          else c.disconnect();
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}
