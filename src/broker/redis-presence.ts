import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Cluster, Redis } from 'ioredis';
import type { PresenceDoc, PresenceStore } from '../hub/presence-store.ts';
import { createAnyClient, FAIL_FAST, parseRedisTarget } from './redis-client.ts';

/**
 * Cluster-wide presence in Redis (docs/scaling.md, "Presence across nodes").
 *
 * Keys, all under one hash tag so a Redis Cluster keeps them on one shard and the sweep can
 * touch them in one script: `{herald:presence}:nodes`, a sorted set of live node ids scored
 * by the Redis time (ms) until which each is alive, and `{herald:presence}:subs:<node>`, a
 * hash of that node's subscription documents by their id. Every node renews its score every
 * `ttlMs / 3`; the score and the sweep use Redis' clock, so nodes' clocks do not matter.
 * Presence is small next to the update log: one shard carries it even on a cluster.
 */
const TAG = '{herald:presence}';
const NODES = `${TAG}:nodes`;
const SUBS = `${TAG}:subs:`;

// Renews this node; returns 1 when the node was not in the set (first beat, or swept as dead).
// The hash also expires (3 TTLs after the last beat) in case no node is left to sweep it.
// KEYS: nodes, own hash. ARGV: node id, ttl ms.
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local added = redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl * 3)
return added
`;

// Claims up to 16 nodes whose time ran out: removes them and returns their documents. Being
// one script, two live nodes sweeping at once never both get the same dead node.
// KEYS: nodes. ARGV: hash key prefix.
const SWEEP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 16)
local out = {}
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  local key = ARGV[1] .. node
  for _, v in ipairs(redis.call('HVALS', key)) do out[#out + 1] = v end
  redis.call('DEL', key)
end
return out
`;

export interface RedisPresenceOptions {
  url: string;
  ttlMs: number;
  /** Reports failures of the background renewals (the caller logs them). */
  onError?(e: unknown): void;
}

type Client = Redis | Cluster;

export class RedisPresenceStore implements PresenceStore {
  readonly ttlMs: number;
  readonly node = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #client: Client;
  readonly #own: string;
  readonly #onError: (e: unknown) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #handlers: { onExpired(docs: PresenceDoc[]): void; onRevived(): void } | undefined;
  #closed = false;

  constructor(options: RedisPresenceOptions) {
    if (!(options.ttlMs >= 300)) throw new Error('presence TTL must be at least 300 ms');
    this.ttlMs = options.ttlMs;
    this.#own = `${SUBS}${this.node}`;
    this.#onError = options.onError ?? (() => {});
    const target = parseRedisTarget(options.url);
    // Commands fail fast and nothing queues while Redis is away: a presence read must not
    // hold an API request, and renewals must not pile up behind a dead server.
    this.#client = createAnyClient(target, {
      ...FAIL_FAST,
      commandTimeout: 2_000,
      connectionName: `herald-presence-${this.node}`,
    });
    this.#client.on('error', () => {}); // each command reports its own failure
  }

  async start(handlers: { onExpired(docs: PresenceDoc[]): void; onRevived(): void }): Promise<void> {
    this.#handlers = handlers;
    // A start with Redis down is not fatal: the next beats register this node.
    await this.#ready(2_000);
    await this.#tick().catch(this.#onError);
    this.#timer = setInterval(() => void this.#tick().catch(this.#onError), Math.floor(this.ttlMs / 3));
    this.#timer.unref();
  }

  /** Waits (bounded) for the first connection, since nothing is queued before it. */
  async #ready(ms: number): Promise<void> {
    if (this.#client.status === 'ready') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#client.once('ready', () => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    const added = (await this.#client.eval(BEAT, 2, NODES, this.#own, this.node, this.ttlMs)) as number;
    // Not listed until now (the first beat, or swept as dead): whatever this node wrote before
    // (or while Redis was away) is written again in full.
    if (added === 1) this.#handlers?.onRevived();
    const gone = (await this.#client.eval(SWEEP, 1, NODES, SUBS)) as string[];
    const docs: PresenceDoc[] = [];
    for (const text of gone) {
      try {
        docs.push(JSON.parse(text) as PresenceDoc);
      } catch {
        /* not a document this code wrote: skipped */
      }
    }
    if (docs.length > 0) this.#handlers?.onExpired(docs);
  }

  async write(add: readonly PresenceDoc[], remove: readonly string[]): Promise<void> {
    if (add.length === 0 && remove.length === 0) return;
    const m = this.#client.multi();
    if (remove.length > 0) m.hdel(this.#own, ...remove);
    if (add.length > 0) m.hset(this.#own, Object.fromEntries(add.map((d) => [d.id, JSON.stringify(d)])));
    m.pexpire(this.#own, this.ttlMs * 3);
    await m.exec();
  }

  async replaceAll(docs: readonly PresenceDoc[]): Promise<void> {
    const m = this.#client.multi().del(this.#own);
    if (docs.length > 0) m.hset(this.#own, Object.fromEntries(docs.map((d) => [d.id, JSON.stringify(d)])));
    m.pexpire(this.#own, this.ttlMs * 3);
    await m.exec();
  }

  async listOthers(): Promise<PresenceDoc[]> {
    const [[, time], [, scored]] = (await this.#client
      .multi()
      .time()
      .zrange(NODES, '0', '-1', 'WITHSCORES')
      .exec()) as [[unknown, [string, string]], [unknown, string[]]];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const live: string[] = [];
    for (let i = 0; i + 1 < scored.length; i += 2)
      if (scored[i] !== this.node && Number(scored[i + 1]) >= now) live.push(scored[i]!);
    if (live.length === 0) return [];
    const m = this.#client.multi();
    for (const node of live) m.hvals(`${SUBS}${node}`);
    const answers = ((await m.exec()) ?? []) as [Error | null, string[]][];
    const docs: PresenceDoc[] = [];
    for (const [err, values] of answers) {
      if (err) throw err;
      for (const text of values) docs.push(JSON.parse(text) as PresenceDoc);
    }
    return docs;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    // A graceful stop announced its leaves itself: its entry goes at once, not after the TTL.
    await this.#client
      .multi()
      .zrem(NODES, this.node)
      .del(this.#own)
      .exec()
      .catch(() => {});
    this.#client.disconnect();
  }
}
