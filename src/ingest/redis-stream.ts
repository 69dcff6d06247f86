import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  createAnyClient,
  errorMessage,
  FAIL_FAST,
  parseRedisTarget,
  reconnectDelay,
} from '../broker/redis-client.ts';
import { brokerKeys } from '../broker/redis-connection.ts';

/** One message read from the ingest stream: its stream id and its field/value pairs. */
export interface IngestMessage {
  entryId: string;
  fields: [string, string][];
  /** True when another node (or this one, earlier) took it and did not finish it. */
  reclaimed: boolean;
}

/** What became of a message: `ack` removes it for good, `retry` leaves it to be reclaimed later. */
export type IngestOutcome = 'ack' | 'retry';

export interface RedisIngestOptions {
  url: string;
  /** Key prefix shared with the broker: the stream is `{prefix}:ingest`. Default `herald`. */
  prefix?: string;
  /** This node's consumer name in the group. */
  consumer: string;
  logger: Logger;
  /** Publishes one message through the hub; never rejects. */
  handle(message: IngestMessage): Promise<IngestOutcome>;
  /** How long one read blocks waiting for messages (default 1 s; bounds how fast `close()` is). */
  blockMs?: number;
  /** A message taken but not acknowledged for this long is taken over by some node (default 30 s). */
  reclaimIdleMs?: number;
}

/** The consumer group every node joins; each message is delivered to one of them. */
export const INGEST_GROUP = 'herald-nodes';
const BATCH = 100;

/**
 * Consumes `{prefix}:ingest`, a Redis stream any process can `XADD` to, through one consumer
 * group shared by every node: each message goes to one node, which publishes it through the
 * hub's normal path and then acknowledges and deletes it. A node that dies in between leaves
 * the message pending; after `reclaimIdleMs` another node claims it (`XAUTOCLAIM`) and the
 * handler is told it is a reclaimed one, so it can check the update was not already stored.
 * Uses its own connection: a blocking read must not hold up the broker's commands.
 */
export class RedisIngest {
  readonly key: string;
  readonly #prefix: string;
  readonly #redis: Redis | Cluster;
  readonly #url: string;
  readonly #options: RedisIngestOptions;
  readonly #log: Logger;
  readonly #blockMs: number;
  readonly #reclaimIdleMs: number;
  #closed = false;
  #loop: Promise<void> | undefined;
  #nextReclaim = 0;

  constructor(options: RedisIngestOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#prefix = options.prefix ?? 'herald';
    this.key = `${this.#prefix}:ingest`;
    this.#blockMs = options.blockMs ?? 1000;
    this.#reclaimIdleMs = options.reclaimIdleMs ?? 30_000;
    const target = parseRedisTarget(options.url);
    this.#url = target.url;
    this.#redis = createAnyClient(
      target,
      {
        ...FAIL_FAST,
        lazyConnect: true,
        connectionName: `${options.consumer}-ingest`,
        retryStrategy: reconnectDelay(1000),
      },
      { lazyConnect: true },
    );
    this.#redis.on('error', () => {}); // reported by the loop, once per failed round
  }

  /** Connects, joins the group (creating it and the stream if needed) and starts consuming. */
  async start(): Promise<void> {
    try {
      await this.#redis.connect();
      await this.#ensureGroup();
    } catch (e) {
      this.#redis.disconnect();
      throw new Error(`redis ingest at ${this.#url}: ${errorMessage(e)}`, { cause: e });
    }
    this.#loop = this.#run();
    this.#log.info(
      { event: 'ingest-ready', key: this.key, group: INGEST_GROUP },
      'consuming the ingest stream',
    );
  }

  async #ensureGroup(): Promise<void> {
    try {
      // From the start of the stream: messages added before any node ran are published too.
      await this.#redis.xgroup('CREATE', this.key, INGEST_GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!errorMessage(e).startsWith('BUSYGROUP')) throw e;
    }
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        if (Date.now() >= this.#nextReclaim) {
          this.#nextReclaim = Date.now() + Math.max(100, this.#reclaimIdleMs / 2);
          await this.#reclaim();
        }
        const reply = (await this.#redis.xreadgroup(
          'GROUP',
          INGEST_GROUP,
          this.#options.consumer,
          'COUNT',
          BATCH,
          'BLOCK',
          this.#blockMs,
          'STREAMS',
          this.key,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) await this.#processAll(entries, false);
        failures = 0;
      } catch (e) {
        if (this.#closed) return;
        // The group is gone (stream deleted by hand): make it again.
        if (errorMessage(e).startsWith('NOGROUP')) await this.#ensureGroup().catch(() => {});
        if (failures++ % 20 === 0)
          this.#log.warn({ event: 'ingest-error', err: errorMessage(e) }, 'ingest read failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * failures)));
      }
    }
  }

  async #reclaim(): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 100 && !this.#closed; round++) {
      const [next, entries] = (await this.#redis.xautoclaim(
        this.key,
        INGEST_GROUP,
        this.#options.consumer,
        this.#reclaimIdleMs,
        cursor,
        'COUNT',
        BATCH,
      )) as [string, ([string, string[]] | null)[]];
      await this.#processAll(
        entries.filter((e): e is [string, string[]] => e !== null),
        true,
      );
      if (next === '0-0') return;
      cursor = next;
    }
  }

  async #processAll(entries: [string, string[]][], reclaimed: boolean): Promise<void> {
    for (const [entryId, flat] of entries) {
      if (this.#closed) return;
      const fields: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) fields.push([flat[i]!, flat[i + 1]!]);
      const outcome = await this.#options.handle({ entryId, fields, reclaimed });
      if (outcome === 'ack')
        await this.#redis.multi().xack(this.key, INGEST_GROUP, entryId).xdel(this.key, entryId).exec();
    }
  }

  /**
   * True when an update with this id is in the broker's history (a reclaimed message whose
   * publish went through before its node died). Always false with history disabled.
   */
  async isStored(updateId: string): Promise<boolean> {
    return (await this.#redis.hexists(brokerKeys(this.#prefix).ids, updateId)) === 1;
  }

  /** Stops reading; a message being published is finished first, unread ones stay for other nodes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#redis.disconnect();
    await this.#loop;
  }
}
