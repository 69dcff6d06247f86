/**
 * Redis-side cost of a bench phase: `INFO` counters read on every primary before and after,
 * so a scenario can divide the deltas by what it published (operations, bytes and Redis CPU
 * per publish). One plain connection per server, not a cluster client: each shard is asked
 * about itself.
 */
import { Redis } from 'ioredis';

/** Counters of one or more Redis servers, summed. */
export interface RedisCounters {
  /** Calls per command (`INFO commandstats`), without the bench's own INFO/PING. */
  calls: Record<string, number>;
  /** total_net_input_bytes: what clients sent (publish scripts, subscriptions...). */
  inBytes: number;
  /** total_net_output_bytes: replies and Pub/Sub messages pushed to the nodes. */
  outBytes: number;
  /** used_cpu_user + used_cpu_sys, seconds (main thread and background threads). */
  cpuSeconds: number;
  /** used_memory, bytes (a level, not a counter). */
  usedMemory: number;
  /**
   * Bytes this read's own INFO exchange adds to the counters: the next read's delta holds
   * them, and `diff` takes them out again.
   */
  probeBytes: { in: number; out: number };
}

/** Commands the measurement itself sends; left out so they never count as Herald's. */
const OWN = new Set(['info', 'ping', 'client|setname', 'client|setinfo', 'hello', 'select']);

function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

function countersOf(info: Map<string, string>): RedisCounters {
  const calls: Record<string, number> = {};
  for (const [k, v] of info) {
    if (!k.startsWith('cmdstat_')) continue;
    const name = k.slice('cmdstat_'.length);
    if (OWN.has(name)) continue;
    const m = /calls=(\d+)/.exec(v);
    if (m) calls[name] = Number(m[1]);
  }
  return {
    calls,
    inBytes: Number(info.get('total_net_input_bytes') ?? 0),
    outBytes: Number(info.get('total_net_output_bytes') ?? 0),
    cpuSeconds: Number(info.get('used_cpu_user') ?? 0) + Number(info.get('used_cpu_sys') ?? 0),
    usedMemory: Number(info.get('used_memory') ?? 0),
    probeBytes: { in: 0, out: 0 },
  };
}

function add(a: RedisCounters, b: RedisCounters): RedisCounters {
  const calls = { ...a.calls };
  for (const [k, v] of Object.entries(b.calls)) calls[k] = (calls[k] ?? 0) + v;
  return {
    calls,
    inBytes: a.inBytes + b.inBytes,
    outBytes: a.outBytes + b.outBytes,
    cpuSeconds: a.cpuSeconds + b.cpuSeconds,
    usedMemory: a.usedMemory + b.usedMemory,
    probeBytes: { in: a.probeBytes.in + b.probeBytes.in, out: a.probeBytes.out + b.probeBytes.out },
  };
}

const EMPTY: RedisCounters = { calls: {}, inBytes: 0, outBytes: 0, cpuSeconds: 0, usedMemory: 0, probeBytes: { in: 0, out: 0 } };
/** `INFO everything` as RESP: `*2\r\n$4\r\ninfo\r\n$10\r\neverything\r\n`. */
const INFO_REQUEST_BYTES = 31;

/**
 * Deltas of the counters between two reads (usedMemory: the later level), without the
 * probe's own traffic: the earlier read's reply, the later read's request.
 */
export function diff(after: RedisCounters, before: RedisCounters): RedisCounters {
  const calls: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.calls)) {
    const d = v - (before.calls[k] ?? 0);
    if (d > 0) calls[k] = d;
  }
  return {
    calls,
    inBytes: after.inBytes - before.inBytes - after.probeBytes.in,
    outBytes: after.outBytes - before.outBytes - before.probeBytes.out,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    usedMemory: after.usedMemory,
    probeBytes: { in: 0, out: 0 },
  };
}

export function totalCalls(c: RedisCounters): number {
  return Object.values(c.calls).reduce((a, b) => a + b, 0);
}

/** Reads the counters of a fixed set of Redis servers; only primaries are summed. */
export class RedisProbe {
  readonly #clients: Redis[];

  constructor(ports: readonly number[]) {
    this.#clients = ports.map(
      (port) => new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, enableReadyCheck: false }),
    );
  }

  /** Process ids of every server (INFO server), for RSS and CPU from /proc. */
  async pids(): Promise<number[]> {
    const infos = await Promise.all(this.#clients.map((c) => c.info('server')));
    return infos.map((t) => Number(parseInfo(t).get('process_id') ?? 0));
  }

  /**
   * Summed counters of the primaries. A replica replays every write its primary took, so
   * counting it would double the per-publish figures; replication traffic is the primary's
   * `total_net_repl_output_bytes`, reported by Redis apart from client traffic.
   */
  async read(): Promise<RedisCounters & { primaries: number }> {
    const texts = await Promise.all(this.#clients.map((c) => c.info('everything')));
    let sum = EMPTY;
    let primaries = 0;
    for (const text of texts) {
      const info = parseInfo(text);
      if (info.get('role') !== 'master') continue;
      primaries++;
      const len = Buffer.byteLength(text);
      // A bulk string: `$<len>\r\n<text>\r\n`.
      const c = countersOf(info);
      c.probeBytes = { in: INFO_REQUEST_BYTES, out: len + String(len).length + 5 };
      sum = add(sum, c);
    }
    return { ...sum, primaries };
  }

  close(): void {
    for (const c of this.#clients) c.disconnect();
  }
}
