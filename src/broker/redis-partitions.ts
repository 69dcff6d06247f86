import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

// The same CRC16 slot function ioredis and Redis Cluster use (no types are shipped).
const calculateSlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

export const SLOTS = 16384;

/** One partition of the update log: its hash tag, slot and keys. */
export interface Partition {
  index: number;
  slot: number;
  /** The stream (history), ids index, last-id and trimmed-up-to keys, and the shard channel. */
  stream: string;
  ids: string;
  last: string;
  trimmed: string;
  channel: string;
  /** Prefix of the partition's idempotency keys (same slot). */
  idempotency: string;
}

/**
 * `count` partitions whose hash tags land in evenly spaced slot ranges, so that a cluster
 * whose primaries hold contiguous ranges of equal size (what `redis-cli --cluster create`
 * makes) gets an equal share of partitions per primary. Deterministic: every node computes
 * the same layout from the same prefix and count.
 */
export function partitionLayout(prefix: string, count: number): Partition[] {
  const out: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const lo = Math.floor((i * SLOTS) / count);
    const hi = Math.floor(((i + 1) * SLOTS) / count);
    let tag = '';
    let slot = -1;
    for (let n = 0; n < 1_000_000; n++) {
      tag = `${prefix}:${i}:${n}`;
      slot = calculateSlot(tag);
      if (slot >= lo && slot < hi) break;
    }
    const k = `{${tag}}`;
    out.push({
      index: i,
      slot,
      stream: `${k}:stream`,
      ids: `${k}:ids`,
      last: `${k}:last`,
      trimmed: `${k}:trimmed`,
      channel: `${k}:updates`,
      idempotency: `${k}:idem:`,
    });
  }
  return out;
}

/** The partition of a topic: a stable hash of the topic, modulo the partition count. */
export function partitionOf(topic: string, count: number): number {
  if (count <= 1) return 0;
  return createHash('sha1').update(topic).digest().readUInt32BE(0) % count;
}

/** Orders Redis stream ids (`<ms>-<seq>`); malformed ids sort first. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  return am !== bm ? am - bm : as - bs;
}

export function maxStreamId(a: string, b: string): string {
  return compareStreamIds(a, b) >= 0 ? a : b;
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  const ms = Number(dash < 0 ? id : id.slice(0, dash));
  const seq = dash < 0 ? 0 : Number(id.slice(dash + 1));
  return [Number.isFinite(ms) ? ms : -1, Number.isFinite(seq) ? seq : -1];
}

/**
 * The hub-wide order of a partitioned log: by stream id, then by partition index. Stream ids
 * come from each partition's own counter, which never goes below anything the publishing
 * node has seen (a Lamport clock), so the order respects every node's causality.
 */
export function compareKeys(aSid: string, aPart: number, bSid: string, bPart: number): number {
  return compareStreamIds(aSid, bSid) || aPart - bPart;
}
