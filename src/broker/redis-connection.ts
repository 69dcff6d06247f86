import type { Redis, RedisOptions } from 'ioredis';
import {
  createRedisClient,
  FAIL_FAST,
  reconnectDelay,
  waitForReplicas,
  type RedisTarget,
} from './redis-client.ts';
import { defineScripts, logScripts, runScript } from './redis-scripts.ts';

/**
 * What the single-log broker (redis.ts) asks of Redis, behind one small surface: the broker
 * never touches the client library directly.
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
  /** One instance or a Sentinel-managed primary (redis-client.ts). */
  target: Exclude<RedisTarget, { kind: 'cluster' }>;
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

/** The broker's keys and channel for a prefix (one cluster per prefix). */
export function brokerKeys(prefix: string): {
  stream: string;
  ids: string;
  channel: string;
  trimmed: string;
  /** Prefix of the idempotency keys (`{herald}:idem:<key>`), in the stream's slot. */
  idempotency: string;
} {
  return {
    stream: `{${prefix}}:stream`,
    ids: `{${prefix}}:ids`,
    channel: `${prefix}:updates`,
    trimmed: `{${prefix}}:trimmed`,
    idempotency: `{${prefix}}:idem:`,
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
      ...FAIL_FAST,
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs,
      retryStrategy: reconnectDelay(options.maxReconnectDelayMs),
    };
    this.#keys = brokerKeys(options.prefix);
    this.#command = createRedisClient(options.target, { ...base, connectionName: `${options.name}-cmd` });
    defineScripts(this.#command, logScripts);
    // The broker resubscribes itself on every reconnect, after which it reads what it missed.
    this.#subscriber = createRedisClient(options.target, {
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

  /**
   * Appends and publishes a batch atomically; resolves with the stream ids, in order. An entry
   * whose key was seen within `idempotencyMs` is a retry: its answer is the first one's
   * stream id and update id (`first`), and it is neither stored nor published.
   */
  async appendAndPublish(
    entries: readonly { id: string; payload: string; key?: string }[],
    maxLen: number,
    ttlMs: number,
    idempotencyMs: number,
  ): Promise<{ streamId: string; first?: string }[]> {
    const k = this.#keys;
    const args: string[] = [String(maxLen), String(ttlMs), String(idempotencyMs), k.idempotency];
    for (const e of entries) args.push(e.id, e.payload, e.key ?? '');
    const reply = (await runScript(
      this.#command,
      logScripts.publish,
      [k.stream, k.ids, k.channel, k.trimmed],
      args,
    )) as string[];
    const out: { streamId: string; first?: string }[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2)
      out.push(reply[i + 1] === '' ? { streamId: reply[i]! } : { streamId: reply[i]!, first: reply[i + 1]! });
    return out;
  }

  /** Waits until `replicas` replicas have this connection's writes (see waitForReplicas). */
  async waitForReplicas(replicas: number, timeoutMs: number): Promise<void> {
    await waitForReplicas(this.#command, replicas, timeoutMs);
  }

  /** Entries after the position of `lastEventId` (undefined = from the oldest retained). */
  async history(
    lastEventId: string | undefined,
    limit: number,
    ttlMs: number,
  ): Promise<{ found: boolean; entries: StreamEntry[]; from?: StreamEntry }> {
    const k = this.#keys;
    const reply = (await runScript(
      this.#command,
      logScripts.history,
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
