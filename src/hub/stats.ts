import { subjectLabel } from '../auth/principal.ts';
import { selectorMatches } from '../protocol/selector.ts';
import { STATS_TOPIC } from '../protocol/update.ts';
import type { Subscription } from './subscription.ts';

/** Plain counters the hub keeps; cheap to bump on the hot path, read by metrics and the dashboard. */
export interface HubCounters {
  published: number;
  delivered: number;
  /** Of `delivered`, those that went to monitors (see `isMonitor`): the stats leave them out. */
  monitorDelivered: number;
  resumes: number;
  gaps: number;
  /** Times the broker lost updates on their way to this node (each told every subscriber `herald.gap`). */
  brokerGaps: number;
  refusals: Record<string, number>;
  /** Slow-consumer policy actions: disconnects, drop episodes and the updates dropped. */
  slowConsumer: { disconnect: number; drop: number; droppedUpdates: number };
}

/** One row of the stats' topic list. */
export interface TopicStats {
  /** A topic, or (when `pattern`) a URI template or `*` someone subscribed to. */
  topic: string;
  pattern: boolean;
  /** Subscriptions matching it (for a selector: subscriptions using it). */
  subscribers: number;
  /** Updates with this canonical topic dispatched on this node (from any node) while listed. */
  updates: number;
  /** Those per second, averaged over `rates.windowSeconds`. */
  updatesPerSec: number;
  /** Retained state, `null` when there is none. */
  retained: unknown;
}

/** The body of a `herald.stats` event (the whole node's numbers, every worker included). */
export interface HubStatsSnapshot {
  time: number;
  broker: { kind: string; ready: boolean; detail?: string };
  /** Connections other than monitors (see `isMonitor`); `monitors` counts those left out. */
  connections: {
    total: number;
    byTransport: Record<string, number>;
    bySubject: Record<string, number>;
    monitors: number;
  };
  /** `delivered` leaves out deliveries to monitors. */
  totals: { published: number; delivered: number };
  /** Averaged over a sliding window of `windowSeconds` (5 s once the hub has run that long). */
  rates: { publishedPerSec: number; deliveredPerSec: number; windowSeconds: number };
  topics: TopicStats[];
  refusals: Record<string, number>;
  /** With `--workers N`: the hub processes these numbers cover (absent: this process only). */
  processes?: number;
  /**
   * Only in the first event a monitor gets, right when it subscribes: the rates of the last
   * `RATE_HISTORY_SECONDS`, oldest first, so its chart starts full.
   */
  history?: RateSample[];
}

/** One point of the rate history: the windowed rates as they read at a stats tick. */
export interface RateSample {
  time: number;
  publishedPerSec: number;
  deliveredPerSec: number;
}

/**
 * The rates of the last `capacity` stats ticks, so a dashboard that connects draws the last
 * minutes at once instead of an empty chart. A fixed ring: memory does not grow with uptime.
 */
export class RateHistory {
  readonly capacity: number;
  readonly #time: Float64Array;
  readonly #published: Float64Array;
  readonly #delivered: Float64Array;
  #count = 0;
  #next = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('a rate history needs room for a sample');
    this.capacity = capacity;
    this.#time = new Float64Array(capacity);
    this.#published = new Float64Array(capacity);
    this.#delivered = new Float64Array(capacity);
  }

  /** How many ticks cover `seconds` at one tick every `intervalMs` (at most 600 ticks). */
  static capacityFor(seconds: number, intervalMs: number): number {
    return Math.min(600, Math.max(1, Math.ceil((seconds * 1000) / Math.max(1, intervalMs))));
  }

  record(sample: RateSample): void {
    this.#time[this.#next] = sample.time;
    this.#published[this.#next] = sample.publishedPerSec;
    this.#delivered[this.#next] = sample.deliveredPerSec;
    this.#next = (this.#next + 1) % this.capacity;
    this.#count = Math.min(this.#count + 1, this.capacity);
  }

  /** The samples kept, oldest first. */
  samples(): RateSample[] {
    const out: RateSample[] = [];
    const start = (this.#next - this.#count + this.capacity) % this.capacity;
    for (let i = 0; i < this.#count; i++) {
      const k = (start + i) % this.capacity;
      out.push({
        time: this.#time[k]!,
        publishedPerSec: this.#published[k]!,
        deliveredPerSec: this.#delivered[k]!,
      });
    }
    return out;
  }
}

/** How long a rate history reaches back: the dashboard's chart shows two minutes. */
export const RATE_HISTORY_SECONDS = 120;

/**
 * A monitor is a subscription that watches the stats topic (a dashboard). The stats leave
 * monitors out of the traffic they describe, so a dashboard does not count its own
 * connection, its own tail as a subscriber of every topic, or its tail's deliveries;
 * `connections.monitors` says how many were left out. Only admins may watch the stats, so for
 * any other subscription the check is one field read.
 */
export function isMonitor(sub: Pick<Subscription, 'principal' | 'selectors'>): boolean {
  return sub.principal.admin && sub.selectors.some((s) => s.source === STATS_TOPIC);
}

/** Connections by transport and subject, monitors left out (and returned for `MonitorView`). */
export function connectionStats(subs: Iterable<Subscription>): {
  connections: HubStatsSnapshot['connections'];
  monitors: Subscription[];
} {
  const byTransport: Record<string, number> = { sse: 0, ws: 0 };
  const bySubject: Record<string, number> = {};
  const monitors: Subscription[] = [];
  let total = 0;
  for (const sub of subs) {
    if (sub.monitor) {
      monitors.push(sub);
      continue;
    }
    total++;
    byTransport[sub.sink.transport] = (byTransport[sub.sink.transport] ?? 0) + 1;
    const label = subjectLabel(sub.principal);
    bySubject[label] = (bySubject[label] ?? 0) + 1;
  }
  return { connections: { total, byTransport, bySubject, monitors: monitors.length }, monitors };
}

/** What monitors add to the topic index's counts, to take back out of the topic rows. */
export class MonitorView {
  readonly #monitors: readonly Subscription[];
  readonly #bySource = new Map<string, number>();

  constructor(monitors: readonly Subscription[]) {
    this.#monitors = monitors;
    for (const m of monitors)
      for (const s of new Set(m.selectors.map((sel) => sel.source)))
        this.#bySource.set(s, (this.#bySource.get(s) ?? 0) + 1);
  }

  /** Monitors' selectors matching `topic` (counted per selector, as the index's `matchCount` does). */
  matching(topic: string): number {
    let n = 0;
    for (const m of this.#monitors) for (const s of m.selectors) if (selectorMatches(s, topic)) n++;
    return n;
  }

  /** Monitors subscribed with the selector `source`. */
  using(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }
}
