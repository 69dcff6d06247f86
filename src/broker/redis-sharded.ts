import { hostname } from 'node:os';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { isHeraldError } from '../protocol/errors.ts';
import { generateId } from '../protocol/ids.ts';
import type { PublishInput, Update } from '../protocol/update.ts';
import type { Broker, BrokerGap, BrokerHealth, HealthReporting, HistoryPage } from './broker.ts';
import {
  compareKeys,
  compareStreamIds,
  maxStreamId,
  partitionLayout,
  partitionOf,
  type Partition,
} from './redis-partitions.ts';
import {
  createClusterClient,
  createClusterNodeClient,
  waitForReplicas,
  type RedisTarget,
} from './redis-client.ts';
import { defineScripts, runScript, shardedScripts, type RedisScript } from './redis-scripts.ts';

export interface ShardedRedisBrokerOptions {
  target: Extract<RedisTarget, { kind: 'cluster' }>;
  /** Updates kept per partition for resume; 0 disables history. */
  historySize: number;
  historyTtlMs: number;
  logger: Logger;
  /** Partitions of the log (same on every node); more partitions than primaries. Default 16. */
  partitions?: number;
  prefix?: string;
  nodeName?: string;
  commandTimeoutMs?: number;
  startTimeoutMs?: number;
  /** How long the merge waits for an idle partition before asking it to tick (default 5 ms). */
  tickDelayMs?: number;
  /** How long a publish's idempotency key is remembered (ms; 0 = never). */
  idempotencyWindowMs?: number;
  /** Replicas of a partition's primary that must confirm a publish (Redis `WAIT`); 0 = none. */
  waitReplicas?: number;
  waitTimeoutMs?: number;
}

const { publish: publishScript, tick: tickScript, read: readScript, lookup: lookupScript } = shardedScripts;

/** An entry received from a partition and not yet dispatched. */
interface Held {
  sid: string;
  part: number;
  payload: string;
}

/** What the node knows of one partition. */
interface PartState {
  p: Partition;
  /** Newest id received from the partition (entry or tick): nothing at or below it is still to come. */
  frontier: string;
  /** Newest entry id received (what a catch-up reads after). */
  received: string;
  sub: Redis | undefined;
  syncing: boolean;
  /** Live messages held while catching up. */
  held: string[];
  generation: number;
  tickTimer: ReturnType<typeof setTimeout> | undefined;
  tickTarget: string | undefined;
  up: boolean;
}

const CATCH_UP_BATCH = 1000;
const MAX_HELD = 10_000;

/**
 * Broker for Herald nodes on a Redis Cluster. The update log is cut into partitions (a topic
 * belongs to one, by hash of its canonical topic), each a stream plus a shard channel under
 * its own hash tag, spread evenly over the slot space: adding primaries spreads partitions,
 * and so publishes, over more cores. Every node subscribes to every partition (sharded
 * Pub/Sub, one connection per partition) and merges them into one hub-wide order, by
 * (stream id, partition): it dispatches an entry once every other partition has shown an id
 * at or above it, asking an idle partition to tick when it waits longer than `tickDelayMs`.
 * Every node thus dispatches the same sequence, so one Last-Event-ID is a cursor into all
 * partitions at once, as Mercure requires, on any node. See docs/scaling.md.
 */
export class ShardedRedisBroker implements Broker, HealthReporting {
  readonly kind = 'redis' as const;
  readonly #o: ShardedRedisBrokerOptions;
  readonly #log: Logger;
  readonly #size: number;
  readonly #ttl: number;
  readonly #cluster: Cluster;
  readonly #subOptions: RedisOptions;
  readonly #parts: PartState[];
  readonly #tickDelayMs: number;
  readonly #idempotencyMs: number;
  #onUpdate: ((u: Update) => void) | undefined;
  #onGap: ((gap: BrokerGap) => void) | undefined;
  #started = false;
  #closed = false;
  /** Received entries waiting for the merge, ordered by key. */
  #queue: Held[] = [];
  /** Key of the last update dispatched: history pages stop there (the rest comes live). */
  #lastSid = '0-0';
  #lastPart = -1;
  /** Newest stream id this node knows of (the floor its publishes pass). */
  #clock = '0-0';
  #detail: string | undefined = 'connecting';
  #ticks = 0;
  /** History readers waiting for the merge to pass an id (read-your-writes). */
  #waiters: { sid: string; resolve: () => void }[] = [];

  constructor(options: ShardedRedisBrokerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#size = Math.max(0, options.historySize);
    this.#ttl = Math.max(0, options.historyTtlMs);
    this.#tickDelayMs = options.tickDelayMs ?? 5;
    this.#idempotencyMs = Math.max(0, options.idempotencyWindowMs ?? 0);
    const count = options.partitions ?? 16;
    if (!Number.isInteger(count) || count < 1 || count > 1024)
      throw new Error(`partitions must be a whole number from 1 to 1024, got ${count}`);
    const name = options.nodeName ?? `herald-${hostname()}-${process.pid}`;
    const base: RedisOptions = {
      commandTimeout: options.commandTimeoutMs ?? 5000,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: `${name}-cmd`,
    };
    this.#cluster = createClusterClient(options.target, base, { lazyConnect: true });
    defineScripts(this.#cluster, shardedScripts);
    this.#cluster.on('error', () => {}); // every command reports its own failure
    this.#subOptions = {
      connectionName: `${name}-sub`,
      lazyConnect: true,
      autoResubscribe: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      // A lost subscriber is replaced (perhaps on another node after a failover), not retried.
      retryStrategy: () => null,
    };
    this.#parts = partitionLayout(options.prefix ?? 'herald', count).map((p) => ({
      p,
      frontier: '0-0',
      received: '0-0',
      sub: undefined,
      syncing: true,
      held: [],
      generation: 0,
      tickTimer: undefined,
      tickTarget: undefined,
      up: false,
    }));
  }

  /** Partition count (for tests and metrics). */
  get partitions(): number {
    return this.#parts.length;
  }

  /** Ticks this node asked for (idle partitions it waited on). */
  get ticks(): number {
    return this.#ticks;
  }

  async start(onUpdate: (update: Update) => void, onGap?: (gap: BrokerGap) => void): Promise<void> {
    this.#onUpdate = onUpdate;
    this.#onGap = onGap;
    const timeoutMs = this.#o.startTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        (async () => {
          await this.#cluster.connect();
          // Every partition's last id before subscribing: whatever lands in between is caught up.
          const lasts = await Promise.all(this.#parts.map((s) => this.#cluster.get(s.p.last)));
          lasts.forEach((l, i) => {
            const s = this.#parts[i]!;
            s.frontier = s.received = l ?? '0-0';
            this.#clock = maxStreamId(this.#clock, s.frontier);
          });
          // Everything up to W (the newest id anywhere) is history to this node; raising every
          // partition to W makes every later entry sort after it, so the split is clean.
          const w = this.#clock;
          await Promise.all(this.#parts.map((s) => this.#eval(tickScript, [s.p.last], [s.p.channel, w])));
          this.#lastSid = w;
          this.#lastPart = this.#parts.length;
          this.#started = true;
          await Promise.all(this.#parts.map((s) => this.#resync(s, s.generation, false)));
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      await this.close();
      throw new Error(`cannot use Redis Cluster at ${this.#o.target.url}: ${errorMessage(e)}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    this.#detail = undefined;
    this.#log.info(
      {
        event: 'broker-ready',
        broker: 'redis-cluster',
        url: this.#o.target.url,
        partitions: this.#parts.length,
      },
      'redis cluster broker ready',
    );
  }

  async publish(inputs: readonly PublishInput[]): Promise<Update[]> {
    if (this.#closed) throw new Error('redis broker is closed');
    const now = Date.now();
    const updates = inputs.map(({ idempotencyKey: _key, ...input }) => ({
      ...input,
      id: input.id ?? generateId(now),
      publishedAt: now,
    }));
    const byPart = new Map<number, number[]>();
    updates.forEach((u, i) => {
      const p = partitionOf(u.topics[0]!, this.#parts.length);
      const list = byPart.get(p);
      if (list) list.push(i);
      else byPart.set(p, [i]);
    });
    const positions: string[] = new Array<string>(updates.length);
    // A retry's answer: the first publish's update id (its key lives in the topic's partition).
    const firsts: (string | undefined)[] = new Array<string | undefined>(updates.length);
    try {
      await Promise.all(
        [...byPart].map(async ([part, idx]) => {
          const p = this.#parts[part]!.p;
          const args = [
            p.channel,
            String(this.#size),
            String(this.#ttl),
            this.#clock,
            String(this.#idempotencyMs),
            p.idempotency,
          ];
          for (const i of idx)
            args.push(updates[i]!.id, JSON.stringify(updates[i]), inputs[i]!.idempotencyKey ?? '');
          const reply = (await this.#eval(
            publishScript,
            [p.stream, p.ids, p.last, p.trimmed],
            args,
          )) as string[];
          if ((this.#o.waitReplicas ?? 0) > 0) await this.#waitOn(p.slot);
          idx.forEach((i, n) => {
            const sid = reply[2 * n]!;
            positions[i] = position(sid, part);
            if (reply[2 * n + 1] !== '') firsts[i] = reply[2 * n + 1];
            this.#clock = maxStreamId(this.#clock, sid);
          });
        }),
      );
    } catch (e) {
      if (isHeraldError(e)) throw e; // replicas fell short: its own reason
      throw new Error(`redis did not confirm the update: ${errorMessage(e)}`, { cause: e });
    }
    return updates.map((u, i) => {
      const first = firsts[i];
      return first === undefined
        ? { ...u, position: positions[i]! }
        : { ...u, id: first, position: positions[i]!, duplicate: true as const };
    });
  }

  async historyAfter(lastEventId: string, limit: number): Promise<HistoryPage> {
    if (this.#closed) throw new Error('redis broker is closed');
    // A page stops at what this node has dispatched; let the merge first pass every id this
    // node has seen, so a publisher reading history after its own 200 finds its update.
    await this.#settledPast(this.#clock, 2000);
    // Where each partition's part of the page starts: after the key of the resume id.
    let startSid = '-';
    let startPart = -1;
    let from: Update | undefined;
    if (lastEventId !== 'earliest') {
      const found = await Promise.all(
        this.#parts.map((s) => this.#eval(lookupScript, [s.p.ids], [lastEventId, String(this.#ttl)])),
      );
      found.forEach((sid, part) => {
        if (typeof sid !== 'string') return;
        // A reused id resolves to its earliest retained occurrence, in the hub-wide order.
        if (startPart < 0 || compareKeys(sid, part, startSid, startPart) < 0) {
          startSid = sid;
          startPart = part;
        }
      });
      if (startPart < 0) return { found: false, updates: [] };
      // The update the id names, so the hub can answer a resume from a private one as unknown.
      const at = (await this.#cluster.xrange(this.#parts[startPart]!.p.stream, startSid, startSid)) as [
        string,
        string[],
      ][];
      const payload = at[0]?.[1][3];
      if (payload !== undefined) from = decode({ sid: startSid, part: startPart, payload });
    }
    const pages = await Promise.all(
      this.#parts.map((s, part) => {
        // Entries of a later partition with the same stream id come after the resume key.
        const inclusive = startSid !== '-' && part > startPart;
        return this.#eval(
          readScript,
          [s.p.stream, s.p.trimmed],
          [startSid, inclusive ? '1' : '0', String(limit), String(this.#ttl)],
        ) as Promise<(number | string)[]>;
      }),
    );
    let truncated = false;
    const merged: Held[] = [];
    pages.forEach((reply, part) => {
      if (reply[0] === 1) truncated = true;
      for (let i = 1; i + 1 < reply.length; i += 2)
        merged.push({ sid: String(reply[i]), part, payload: String(reply[i + 1]) });
    });
    merged.sort((a, b) => compareKeys(a.sid, a.part, b.sid, b.part));
    const updates: Update[] = [];
    for (const e of merged) {
      if (updates.length >= limit) break;
      // Not yet dispatched here: it reaches the subscriber live (held while it replays).
      if (compareKeys(e.sid, e.part, this.#lastSid, this.#lastPart) > 0) break;
      const u = decode(e);
      if (u) updates.push(u);
    }
    return { found: true, updates, ...(truncated ? { truncated: true } : {}), ...(from ? { from } : {}) };
  }

  health(): BrokerHealth {
    if (this.#closed) return { kind: 'redis', ready: false, detail: 'closed' };
    const down = this.#parts.filter((s) => s.syncing).length;
    const ready =
      this.#started && this.#detail === undefined && down === 0 && this.#cluster.status === 'ready';
    if (ready) return { kind: 'redis', ready };
    return {
      kind: 'redis',
      ready,
      detail:
        this.#detail ?? (down > 0 ? `${down} partition(s) catching up` : `cluster ${this.#cluster.status}`),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#parts) {
      s.generation++;
      clearTimeout(s.tickTimer);
      s.sub?.disconnect();
      s.sub = undefined;
    }
    try {
      if (this.#cluster.status === 'ready') await this.#cluster.quit();
      else this.#cluster.disconnect();
    } catch {
      this.#cluster.disconnect();
    }
  }

  #eval(s: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.#cluster, s, keys, args);
  }

  /**
   * `WAIT` on the connection that ran the partition's publish script: the cluster client
   * keeps one connection per node, and `nodes()` hands out those same connections.
   */
  async #waitOn(slot: number): Promise<void> {
    const owner = this.#cluster.slots[slot]?.[0];
    const node = this.#cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
    if (!node) throw new Error(`no connection to the primary of slot ${slot}`);
    await waitForReplicas(node, this.#o.waitReplicas ?? 0, this.#o.waitTimeoutMs ?? 1000);
  }

  /** The address of the primary serving a slot, refreshing the map when it names none. */
  async #ownerOf(slot: number): Promise<{ host: string; port: number }> {
    let key = this.#cluster.slots[slot]?.[0];
    if (!key) {
      await new Promise<void>((resolve) => this.#cluster.refreshSlotsCache(() => resolve()));
      key = this.#cluster.slots[slot]?.[0];
    }
    if (!key) throw new Error(`no primary known for slot ${slot}`);
    const colon = key.lastIndexOf(':');
    return { host: key.slice(0, colon), port: Number(key.slice(colon + 1)) };
  }

  /**
   * (Re)subscribes one partition on its current primary, then reads its stream after the
   * last entry received until it meets the live feed; messages arriving meanwhile are held.
   * A partition that trimmed past what this node received, or whose log went backwards (a
   * failover that lost writes, a restart without persistence), is reported as a gap.
   */
  async #resync(s: PartState, generation: number, retry = true): Promise<void> {
    s.syncing = true;
    s.held = [];
    const current = () => generation === s.generation && !this.#closed;
    for (let attempt = 0; current(); attempt++) {
      try {
        const owner = await this.#ownerOf(s.p.slot);
        const sub = createClusterNodeClient(this.#o.target, owner, this.#subOptions);
        sub.on('error', () => {});
        sub.on('smessage', (_channel: string, message: string) => {
          if (generation === s.generation) this.#onMessage(s, message);
        });
        // A slot moving away ends the subscription with an `sunsubscribe` push.
        sub.on('close', () => this.#lost(s, generation, 'connection closed'));
        sub.on('sunsubscribe', () => this.#lost(s, generation, 'slot moved'));
        if (!current()) return sub.disconnect();
        s.sub?.disconnect();
        s.sub = sub;
        await sub.connect();
        await sub.ssubscribe(s.p.channel);
        let caughtUp = 0;
        let lost: string | undefined;
        for (let first = true; ; first = false) {
          if (!current()) return;
          const reply = (await this.#eval(
            readScript,
            [s.p.stream, s.p.trimmed],
            [s.received, '0', String(CATCH_UP_BATCH), '0'],
          )) as (number | string)[];
          if (!current()) return;
          if (first && reply[0] === 1) lost = 'trimmed';
          for (let i = 1; i + 1 < reply.length; i += 2) {
            const sid = String(reply[i]);
            if (compareStreamIds(sid, s.received) <= 0) continue;
            this.#receive(s, sid, String(reply[i + 1]));
            caughtUp++;
          }
          if (reply.length - 1 < 2 * CATCH_UP_BATCH) break;
        }
        const last = (await this.#cluster.get(s.p.last)) ?? '0-0';
        if (!current()) return;
        if (compareStreamIds(last, s.received) < 0) lost ??= 'log-rewound';
        const held = s.held;
        s.held = [];
        for (const m of held) this.#onMessage(s, m, true);
        s.syncing = false;
        s.up = true;
        if (lost) this.#gap(s, lost);
        if (caughtUp > 0 && retry)
          this.#log.info(
            { event: 'broker-caught-up', partition: s.p.index, updates: caughtUp },
            'read updates missed while away',
          );
        this.#pump();
        return;
      } catch (e) {
        if (!current()) return;
        if (attempt % 20 === 0)
          this.#log.warn(
            { err: errorMessage(e), partition: s.p.index },
            'partition resubscribe failed; retrying',
          );
        if (!retry && attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
        await new Promise<void>((resolve) => this.#cluster.refreshSlotsCache(() => resolve()));
      }
    }
  }

  #lost(s: PartState, generation: number, why: string): void {
    if (generation !== s.generation || this.#closed || !this.#started) return;
    s.generation++;
    s.sub?.disconnect();
    s.sub = undefined;
    if (s.up)
      this.#log.warn(
        { event: 'broker-disconnected', partition: s.p.index, reason: why },
        'partition subscriber lost',
      );
    s.up = false;
    void this.#resync(s, s.generation);
  }

  #gap(s: PartState, reason: string): void {
    this.#log.warn({ event: 'broker-gap', partition: s.p.index, reason }, 'updates of a partition were lost');
    try {
      this.#onGap?.({ reason });
    } catch (e) {
      this.#log.error({ err: e }, 'gap handler failed');
    }
  }

  #onMessage(s: PartState, message: string, draining = false): void {
    if (s.syncing && !draining) {
      if (s.held.length < MAX_HELD) s.held.push(message);
      else {
        // Too much arrived while catching up: start the catch-up over from what was received.
        this.#lost(s, s.generation, 'catch-up overflow');
      }
      return;
    }
    const space = message.indexOf(' ');
    if (space < 0) {
      // A tick: nothing at or below this id will come from the partition.
      if (compareStreamIds(message, s.frontier) > 0) {
        s.frontier = message;
        this.#clock = maxStreamId(this.#clock, message);
      }
      if (!draining) this.#pump();
      return;
    }
    const sid = message.slice(0, space);
    if (compareStreamIds(sid, s.received) <= 0) return;
    this.#receive(s, sid, message.slice(space + 1));
    if (!draining) this.#pump();
  }

  #receive(s: PartState, sid: string, payload: string): void {
    s.received = sid;
    if (compareStreamIds(sid, s.frontier) > 0) s.frontier = sid;
    this.#clock = maxStreamId(this.#clock, sid);
    // At or below what was dispatched (or what was history when the node started): done.
    if (compareKeys(sid, s.p.index, this.#lastSid, this.#lastPart) <= 0) return;
    const h: Held = { sid, part: s.p.index, payload };
    // Entries mostly arrive in order: insert from the back.
    let i = this.#queue.length;
    while (i > 0 && compareKeys(this.#queue[i - 1]!.sid, this.#queue[i - 1]!.part, sid, h.part) > 0) i--;
    this.#queue.splice(i, 0, h);
  }

  /** Dispatches every queued entry no partition can still precede; asks idle ones to tick. */
  #pump(): void {
    let n = 0;
    for (; n < this.#queue.length; n++) {
      const h = this.#queue[n]!;
      if (this.#blockedBy(h) !== undefined) break;
    }
    if (n > 0) {
      const ready = this.#queue.splice(0, n);
      for (const h of ready) this.#dispatch(h);
    }
    if (this.#waiters.length > 0) {
      this.#waiters = this.#waiters.filter((w) => {
        if (!this.#settledAt(w.sid)) return true;
        w.resolve();
        return false;
      });
    }
    if (this.#queue.length === 0) return;
    const head = this.#queue[0]!;
    const target = this.#queue[this.#queue.length - 1]!.sid;
    for (const s of this.#parts)
      if (s.p.index !== head.part && compareStreamIds(s.frontier, head.sid) < 0) this.#askTick(s, target);
  }

  /** True when every entry up to `sid`, from every partition, has been dispatched. */
  #settledAt(sid: string): boolean {
    if (this.#queue.length > 0) return compareStreamIds(this.#queue[0]!.sid, sid) > 0;
    return this.#parts.every((s) => compareStreamIds(s.frontier, sid) >= 0);
  }

  #settledPast(sid: string, timeoutMs: number): Promise<void> {
    if (this.#settledAt(sid)) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { sid, resolve };
      this.#waiters.push(w);
      // Bounded: a partition that is down must not hold a resume for longer than this.
      setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve();
      }, timeoutMs).unref();
      // An idle log: ask the partitions behind to tick up to the id.
      for (const s of this.#parts) if (compareStreamIds(s.frontier, sid) < 0) this.#askTick(s, sid);
    });
  }

  #askTick(s: PartState, target: string): void {
    if (s.tickTimer !== undefined) {
      s.tickTarget = maxStreamId(s.tickTarget ?? target, target);
      return;
    }
    s.tickTarget = target;
    s.tickTimer = setTimeout(() => void this.#tick(s), this.#tickDelayMs * (1 + Math.random()));
    s.tickTimer.unref();
  }

  #blockedBy(h: Held): PartState | undefined {
    for (const s of this.#parts)
      if (s.p.index !== h.part && compareStreamIds(s.frontier, h.sid) < 0) return s;
    return undefined;
  }

  async #tick(s: PartState): Promise<void> {
    const target = s.tickTarget;
    s.tickTimer = undefined;
    s.tickTarget = undefined;
    if (this.#closed || target === undefined || compareStreamIds(s.frontier, target) >= 0) return;
    // Not while catching up: the catch-up itself moves the frontier, and the shard may be down.
    if (s.syncing) {
      s.tickTarget = target;
      s.tickTimer = setTimeout(() => void this.#tick(s), 100);
      s.tickTimer.unref();
      return;
    }
    this.#ticks++;
    try {
      await this.#eval(tickScript, [s.p.last], [s.p.channel, target]);
    } catch (e) {
      this.#log.debug({ err: errorMessage(e), partition: s.p.index }, 'tick failed');
      if (!this.#closed && s.tickTimer === undefined) {
        s.tickTarget = maxStreamId(s.tickTarget ?? target, target);
        s.tickTimer = setTimeout(() => void this.#tick(s), 100);
        s.tickTimer.unref();
      }
      return;
    }
  }

  #dispatch(h: Held): void {
    this.#lastSid = h.sid;
    this.#lastPart = h.part;
    const update = decode(h);
    if (!update) {
      this.#log.warn(
        { event: 'broker-bad-message', position: position(h.sid, h.part) },
        'ignored an undecodable update',
      );
      return;
    }
    try {
      this.#onUpdate?.(update);
    } catch (e) {
      this.#log.error({ err: e, position: update.position }, 'dispatch failed');
    }
  }
}

function position(sid: string, part: number): string {
  return `${sid}@${part}`;
}

function decode(h: Held): Update | undefined {
  try {
    const u = JSON.parse(h.payload) as Omit<Update, 'position'>;
    if (typeof u.id !== 'string' || !Array.isArray(u.topics) || typeof u.data !== 'string') return undefined;
    return { ...u, position: position(h.sid, h.part) };
  } catch {
    return undefined;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
