/** Messages between the orchestrator and load-generator worker processes (over IPC). */
import type { HistogramJson } from '../lib/stats.ts';
import type { SubscribeTarget } from '../systems/types.ts';

export interface OpenCommand {
  op: 'open';
  target: SubscribeTarget;
  /** Number of clients this worker opens. */
  count: number;
  /** Global index of this worker's first client (spreads nodes, topics and source addresses). */
  firstIndex: number;
  /** Topic for client i: `topic` when `perClientTopic` is false, else `${topic}${i}`. */
  topic: string;
  perClientTopic: boolean;
  /** Source addresses to spread clients over (127.0.0.x). */
  localAddresses: string[];
  /** SSE client implementation: raw socket (default, cheaper) or node:http. */
  sseClient: 'net' | 'http';
  /** WebSocket clients offer permessage-deflate (no context takeover). */
  wsDeflate: boolean;
  /** Give up waiting for clients to go live after this long. */
  timeoutMs: number;
}

export type Command =
  | OpenCommand
  | { op: 'reset' }
  | { op: 'stats' }
  | { op: 'storm'; timeoutMs: number }
  | { op: 'gaps'; lastSeq: number }
  | { op: 'close' };

export interface WorkerStats {
  deliveries: number;
  /** Bytes read from the wire since the last reset (raw-socket clients only; 0 otherwise). */
  bytes: number;
  /** Clients whose hub accepted permessage-deflate. */
  deflated: number;
  histogram: HistogramJson;
  /** Percent of one core used by this worker since the last reset. */
  cpuPercent: number;
  wallMs: number;
  live: number;
  errors: number;
}

export type Reply =
  | { op: 'opened'; live: number; failed: number; ms: number; firstError?: string }
  | { op: 'reset' }
  | { op: 'stats'; stats: WorkerStats }
  | { op: 'storm'; live: number; failed: number; ms: number; errors: number; firstError?: string }
  | { op: 'gaps'; missed: number; duplicates: number; clientsWithGaps: number; samples?: string[] }
  | { op: 'closed' };

/** Payload layout the publisher sends: `s=SEQ t=EPOCH_MS p=PADDING` (plain text, survives JSON escaping). */
export function makePayload(seq: number, pad: string): string {
  return `s=${seq} t=${(performance.timeOrigin + performance.now()).toFixed(3)} p=${pad}`;
}
