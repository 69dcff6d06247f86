import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { generateId } from '../protocol/ids.ts';
import type { PublishInput, Update } from '../protocol/update.ts';
import type { Broker, BrokerGap, BrokerHealth, HealthReporting, HistoryPage } from './broker.ts';
import { parseRedisTarget } from './redis-client.ts';
import { RedisConnection, type StreamEntry } from './redis-connection.ts';

export interface RedisBrokerOptions {
  /**
   * `redis://[user:password@]host[:port][/db]`, `rediss://...` (TLS), or a Sentinel-managed
   * primary `redis+sentinel://s1:26379,s2:26379/service` (see redis-client.ts).
   */
  url: string;
  /** Updates kept in the stream for resume; 0 disables history. */
  historySize: number;
  /** Updates older than this (ms) are dropped from history; 0 = no age limit. */
  historyTtlMs: number;
  logger: Logger;
  /** Prefix of every key and the channel; hubs sharing a prefix form one cluster. */
  prefix?: string;
  /** This node's name in Redis `CLIENT LIST` (default `herald-<host>-<pid>`). */
  nodeName?: string;
  /** Fail a Redis command after this long (default 5 s). */
  commandTimeoutMs?: number;
  /** Longest pause between reconnect attempts (default 1 s). */
  maxReconnectDelayMs?: number;
  /** `start()` gives up when Redis cannot be reached for this long (default 10 s). */
  startTimeoutMs?: number;
  /** How long a publish's idempotency key is remembered (ms; 0 = never). */
  idempotencyWindowMs?: number;
  /** Replicas that must confirm a publish (Redis `WAIT`) before it is answered; 0 = none. */
  waitReplicas?: number;
  /** How long to wait for them (default 1 s). */
  waitTimeoutMs?: number;
}

/** Live messages held while catching up after a resubscribe; past this, the stream is reread. */
const MAX_HELD = 10_000;
const CATCH_UP_BATCH = 1000;

/**
 * Broker for several nodes sharing one Redis. Each publish is one Lua script: XADD to a
 * stream (the history, trimmed by count and age) and PUBLISH of the stored entry on one
 * channel, so every node sees updates in the stream's order. Each node holds one Pub/Sub
 * connection; when it comes back after a drop, the node reads the stream after the last
 * position it dispatched before going live again, so its subscribers miss nothing.
 * Positions are stream ids (`<ms>-<seq>`).
 */
export class RedisBroker implements Broker, HealthReporting {
  readonly kind = 'redis' as const;
  readonly #size: number;
  readonly #ttl: number;
  readonly #log: Logger;
  readonly #url: string;
  readonly #startTimeoutMs: number;
  readonly #idempotencyMs: number;
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  readonly #conn: RedisConnection;
  #onUpdate: ((u: Update) => void) | undefined;
  #onGap: ((gap: BrokerGap) => void) | undefined;
  #started = false;
  #closed = false;
  /** Stream id of the last update dispatched to this node's hub. */
  #lastSeen = '0-0';
  /** True from a (re)subscribe until the stream has been read up to the live feed. */
  #syncing = true;
  #held: string[] = [];
  #heldOverflow = false;
  /** Bumped on every subscriber drop, so a stale catch-up loop stops. */
  #generation = 0;
  #detail: string | undefined = 'connecting';
  #commandUp = true;
  #subscriberUp = true;

  constructor(options: RedisBrokerOptions) {
    const target = parseRedisTarget(options.url); // throws a one-line reason for a URL it cannot use
    if (target.kind === 'cluster')
      throw new Error('a Redis Cluster needs the sharded broker (createRedisBroker)');
    this.#size = Math.max(0, options.historySize);
    this.#ttl = Math.max(0, options.historyTtlMs);
    this.#log = options.logger;
    this.#url = target.url;
    this.#startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.#idempotencyMs = Math.max(0, options.idempotencyWindowMs ?? 0);
    this.#waitReplicas = Math.max(0, options.waitReplicas ?? 0);
    this.#waitTimeoutMs = Math.max(1, options.waitTimeoutMs ?? 1000);
    this.#conn = new RedisConnection({
      target,
      prefix: options.prefix ?? 'herald',
      name: options.nodeName ?? `herald-${hostname()}-${process.pid}`,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 1000,
      onCommandState: (up, error) => this.#onCommandState(up, error),
      onSubscriberState: (up, error) => this.#onSubscriberState(up, error),
      onMessage: (m) => this.#onMessage(m),
    });
  }

  async start(onUpdate: (update: Update) => void, onGap?: (gap: BrokerGap) => void): Promise<void> {
    this.#onUpdate = onUpdate;
    this.#onGap = onGap;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        (async () => {
          await this.#conn.connect();
          // Read the stream's end before subscribing: whatever lands in between is caught up.
          this.#lastSeen = await this.#conn.lastStreamId();
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.#startTimeoutMs} ms`)),
            this.#startTimeoutMs,
          );
        }),
      ]);
    } catch (e) {
      this.#closed = true;
      await this.#conn.close();
      throw new Error(`cannot use Redis at ${this.#url}: ${errorMessage(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    this.#started = true;
    await this.#resync(this.#generation);
    this.#log.info({ event: 'broker-ready', broker: 'redis', url: this.#url }, 'redis broker ready');
  }

  async publish(inputs: readonly PublishInput[]): Promise<Update[]> {
    if (this.#closed) throw new Error('redis broker is closed');
    if (!this.#conn.commandReady) throw new Error(`redis at ${this.#url} is unreachable`);
    const now = Date.now();
    const updates = inputs.map(({ idempotencyKey: _key, ...input }) => {
      const u: Omit<Update, 'position'> = { ...input, id: input.id ?? generateId(now), publishedAt: now };
      return u;
    });
    let answers: { streamId: string; first?: string }[];
    try {
      answers = await this.#conn.appendAndPublish(
        updates.map((u, i) => ({
          id: u.id,
          payload: JSON.stringify(u),
          ...(inputs[i]!.idempotencyKey !== undefined ? { key: inputs[i]!.idempotencyKey } : {}),
        })),
        this.#size,
        this.#ttl,
        this.#idempotencyMs,
      );
    } catch (e) {
      throw new Error(`redis did not confirm the update: ${errorMessage(e)}`, { cause: e });
    }
    await this.#conn.waitForReplicas(this.#waitReplicas, this.#waitTimeoutMs);
    return updates.map((u, i) => {
      const a = answers[i]!;
      if (a.first === undefined) return { ...u, position: a.streamId };
      // A retry: answered with the first publish's id and position (Redis keeps those, not
      // the whole update, for the window).
      return { ...u, id: a.first, position: a.streamId, duplicate: true as const };
    });
  }

  async historyAfter(lastEventId: string, limit: number): Promise<HistoryPage> {
    if (this.#closed) throw new Error('redis broker is closed');
    if (!this.#conn.commandReady) throw new Error(`redis at ${this.#url} is unreachable`);
    const page = await this.#conn.history(
      lastEventId === 'earliest' ? undefined : lastEventId,
      limit,
      this.#ttl,
    );
    const updates: Update[] = [];
    for (const e of page.entries) {
      // The page comes over the command connection, the live feed over the Pub/Sub one, and
      // the two are not ordered: under load the stream holds updates this node has not
      // dispatched yet. Those reach the subscriber through the live feed (held while it
      // replays, sent once it is live); replaying them too would deliver them twice.
      if (compareStreamIds(e.streamId, this.#lastSeen) > 0) break;
      const u = decode(e);
      if (u) updates.push(u);
    }
    const from = page.from && decode(page.from);
    return from ? { found: page.found, updates, from } : { found: page.found, updates };
  }

  health(): BrokerHealth {
    if (this.#closed) return { kind: 'redis', ready: false, detail: 'closed' };
    const ready = this.#started && this.#detail === undefined && this.#conn.commandReady && !this.#syncing;
    return ready ? { kind: 'redis', ready } : { kind: 'redis', ready, detail: this.#detail ?? 'catching up' };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#generation++;
    await this.#conn.close();
  }

  #onCommandState(up: boolean, error?: Error): void {
    if (!this.#started || this.#closed) return;
    const was = this.#commandUp;
    this.#commandUp = up;
    if (up) {
      if (this.#conn.subscriberReady && !this.#syncing) this.#detail = undefined;
      if (!was)
        this.#log.info({ event: 'broker-reconnected', connection: 'command' }, 'redis connection restored');
    } else {
      this.#detail = `connection lost${error ? `: ${error.message}` : ''}`;
      // ioredis reports every failed reconnect attempt; one line per outage is enough.
      if (was)
        this.#log.warn(
          { event: 'broker-disconnected', connection: 'command', err: error },
          'redis connection lost',
        );
    }
  }

  #onSubscriberState(up: boolean, error?: Error): void {
    if (!this.#started || this.#closed) return;
    const was = this.#subscriberUp;
    this.#subscriberUp = up;
    if (up) {
      this.#log.info({ event: 'broker-reconnected', connection: 'subscriber' }, 'redis subscriber restored');
      void this.#resync(this.#generation);
    } else {
      this.#generation++;
      this.#syncing = true;
      this.#held = [];
      this.#detail = `subscription lost${error ? `: ${error.message}` : ''}`;
      if (was)
        this.#log.warn(
          { event: 'broker-disconnected', connection: 'subscriber', err: error },
          'redis subscriber lost',
        );
    }
  }

  /**
   * Subscribes, then reads the stream after the last dispatched position until it meets the
   * live feed. Live messages arriving meanwhile are held and then dispatched minus those the
   * stream already gave: the seam has no gap and no duplicate.
   */
  async #resync(generation: number): Promise<void> {
    this.#syncing = true;
    this.#held = [];
    this.#heldOverflow = false;
    const current = () => generation === this.#generation && !this.#closed;
    for (let attempt = 0; current(); attempt++) {
      try {
        await this.#conn.subscribe();
        // What this node missed is gone if trimming passed it, or if the log went backwards
        // (a Redis restart without persistence, a failover that lost writes): say so.
        const [trimmed, newest] = await Promise.all([this.#conn.trimmedUpTo(), this.#conn.lastStreamId()]);
        if (!current()) return;
        const lost =
          compareStreamIds(trimmed, this.#lastSeen) > 0
            ? 'trimmed'
            : compareStreamIds(newest, this.#lastSeen) < 0
              ? 'log-rewound'
              : undefined;
        let caughtUp = 0;
        for (;;) {
          if (!current()) return;
          this.#heldOverflow = false;
          const batch = await this.#conn.rangeAfter(this.#lastSeen, CATCH_UP_BATCH);
          if (!current()) return;
          for (const e of batch) if (this.#dispatch(e.streamId, e.payload)) caughtUp++;
          if (batch.length < CATCH_UP_BATCH && !this.#heldOverflow) break;
        }
        const held = this.#held;
        this.#held = [];
        for (const m of held) this.#dispatchMessage(m);
        this.#syncing = false;
        if (this.#conn.commandReady) this.#detail = undefined;
        if (lost) {
          this.#log.warn({ event: 'broker-gap', reason: lost }, 'updates were lost while this node was away');
          try {
            this.#onGap?.({ reason: lost });
          } catch (e) {
            this.#log.error({ err: e }, 'gap handler failed');
          }
        }
        if (caughtUp > 0)
          this.#log.info({ event: 'broker-caught-up', updates: caughtUp }, 'read updates missed while away');
        return;
      } catch (e) {
        this.#detail = `resubscribing: ${errorMessage(e)}`;
        if (attempt % 20 === 0) this.#log.warn({ err: e }, 'redis resubscribe failed; retrying');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  #onMessage(message: string): void {
    if (this.#syncing) {
      if (this.#held.length < MAX_HELD) this.#held.push(message);
      else this.#heldOverflow = true;
      return;
    }
    this.#dispatchMessage(message);
  }

  #dispatchMessage(message: string): void {
    const space = message.indexOf(' ');
    if (space <= 0) {
      this.#log.warn({ event: 'broker-bad-message' }, 'ignored a malformed message on the update channel');
      return;
    }
    this.#dispatch(message.slice(0, space), message.slice(space + 1));
  }

  /** Dispatches an entry newer than the last one dispatched; false when it was not. */
  #dispatch(streamId: string, payload: string): boolean {
    if (compareStreamIds(streamId, this.#lastSeen) <= 0) return false;
    this.#lastSeen = streamId;
    const update = decode({ streamId, payload });
    if (!update) {
      this.#log.warn({ event: 'broker-bad-message', position: streamId }, 'ignored an undecodable update');
      return false;
    }
    try {
      this.#onUpdate?.(update);
    } catch (e) {
      this.#log.error({ err: e, position: streamId }, 'dispatch failed');
    }
    return true;
  }
}

function decode(entry: StreamEntry): Update | undefined {
  try {
    const u = JSON.parse(entry.payload) as Omit<Update, 'position'>;
    if (typeof u.id !== 'string' || !Array.isArray(u.topics) || typeof u.data !== 'string') return undefined;
    return { ...u, position: entry.streamId };
  } catch {
    return undefined;
  }
}

/** Orders Redis stream ids (`<ms>-<seq>`); malformed ids sort first. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  return am !== bm ? am - bm : as - bs;
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  const ms = Number(dash < 0 ? id : id.slice(0, dash));
  const seq = dash < 0 ? 0 : Number(id.slice(dash + 1));
  return [Number.isFinite(ms) ? ms : -1, Number.isFinite(seq) ? seq : -1];
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
