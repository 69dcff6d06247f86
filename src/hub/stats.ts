/**
 * Statistics: the hub's counters, its rate samples and per-topic activity, and the
 * `herald.stats` snapshot built from them (the wire format is protocol/stats.ts). The parts
 * of the hub bump the counters; everything outside reads them through `Hub.counters`,
 * typed read-only.
 */
import { subjectLabel } from '../auth/principal.ts';
import { healthOf, type Broker } from '../broker/broker.ts';
import { selectorMatches } from '../protocol/selector.ts';
import { STATS_TOPIC, type HubStatsSnapshot, type RateSample, type TopicStats } from '../protocol/stats.ts';
import { CounterRing, RateWindow } from './rate-window.ts';
import type { Subscription } from './subscription.ts';
import { TopicActivity } from './topic-activity.ts';
import type { TopicIndex } from './topic-index.ts';

/** The wire types, defined in protocol/stats.ts; re-exported for the hub's own modules. */
export type { HubStatsSnapshot, RateSample, TopicStats } from '../protocol/stats.ts';

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

/** `HubCounters` as the hub hands them out: read them, never write them. */
export type ReadonlyHubCounters = {
  readonly [K in keyof HubCounters]: HubCounters[K] extends object
    ? Readonly<HubCounters[K]>
    : HubCounters[K];
};

/** What the statistics read from the rest of the hub when a snapshot is taken. */
export interface StatsSources {
  broker: Broker;
  index: TopicIndex;
  subscriptions(): Iterable<Subscription>;
}

export class HubStatistics {
  readonly counters: HubCounters = {
    published: 0,
    delivered: 0,
    monitorDelivered: 0,
    resumes: 0,
    gaps: 0,
    brokerGaps: 0,
    refusals: {},
    slowConsumer: { disconnect: 0, drop: 0, droppedUpdates: 0 },
  };
  readonly #sources: StatsSources;
  readonly #rateWindow: RateWindow;
  readonly #publishedRing: CounterRing;
  readonly #deliveredRing: CounterRing;
  readonly #monitorDeliveredRing: CounterRing;
  readonly #history: RateHistory;
  readonly #activity: TopicActivity;
  /** Topics of subscription events (one per subscriber): left out of topic activity. */
  readonly #presencePrefix: string | undefined;

  constructor(
    sources: StatsSources,
    options: {
      rateWindowSamples?: number;
      activeTopicsLimit?: number;
      presencePrefix?: string;
      /** The stats tick: the rate history keeps `RATE_HISTORY_SECONDS` of them. */
      statsIntervalMs: number;
    },
  ) {
    this.#sources = sources;
    this.#presencePrefix = options.presencePrefix;
    this.#rateWindow = new RateWindow(options.rateWindowSamples ?? 5);
    this.#publishedRing = new CounterRing(this.#rateWindow);
    this.#deliveredRing = new CounterRing(this.#rateWindow);
    this.#monitorDeliveredRing = new CounterRing(this.#rateWindow);
    this.#history = new RateHistory(RateHistory.capacityFor(RATE_HISTORY_SECONDS, options.statsIntervalMs));
    this.#activity = new TopicActivity(this.#rateWindow, options.activeTopicsLimit ?? 200);
  }

  /** One update dispatched with this canonical topic. */
  recordTopic(topic: string): void {
    if (this.#presencePrefix === undefined || !topic.startsWith(this.#presencePrefix))
      this.#activity.record(topic);
  }

  recordRefusal(reason: string): void {
    this.counters.refusals[reason] = (this.counters.refusals[reason] ?? 0) + 1;
  }

  /**
   * Takes a rate sample (the stats timer calls this every interval): rates are measured from
   * the oldest sample of the window to the moment a snapshot is taken.
   */
  sample(now: number, nodeRates?: () => HubStatsSnapshot['rates']): void {
    this.#rateWindow.sample(now);
    this.#publishedRing.store(this.#rateWindow, this.counters.published);
    this.#deliveredRing.store(this.#rateWindow, this.counters.delivered);
    this.#monitorDeliveredRing.store(this.#rateWindow, this.counters.monitorDelivered);
    this.#activity.sampled();
    // With `--workers`, the history a dashboard gets on connect is the node's, like its events.
    const { publishedPerSec, deliveredPerSec } = nodeRates ? nodeRates() : this.#rates(now);
    this.#history.record({ time: now, publishedPerSec, deliveredPerSec });
  }

  /** The rate samples of the last `RATE_HISTORY_SECONDS`, oldest first (a monitor's first event). */
  history(): RateSample[] {
    return this.#history.samples();
  }

  /** Node-local statistics, as shown on the dashboard. Reading them changes nothing. */
  snapshot(retained: (topic: string) => unknown, now: number): HubStatsSnapshot {
    const { connections, monitors } = connectionStats(this.#sources.subscriptions());
    return {
      time: now,
      broker: healthOf(this.#sources.broker),
      connections,
      totals: {
        published: this.counters.published,
        delivered: this.counters.delivered - this.counters.monitorDelivered,
      },
      rates: this.#rates(now),
      topics: this.#topicStats(retained, now, new MonitorView(monitors)),
      refusals: { ...this.counters.refusals },
    };
  }

  /** Rates over the window, deliveries to monitors left out. */
  #rates(now: number): HubStatsSnapshot['rates'] {
    const w = this.#rateWindow;
    const c = this.counters;
    const delivered = this.#deliveredRing.rate(w, c.delivered, now);
    const toMonitors = this.#monitorDeliveredRing.rate(w, c.monitorDelivered, now);
    return {
      publishedPerSec: this.#publishedRing.rate(w, c.published, now),
      deliveredPerSec: Math.max(0, delivered - toMonitors),
      windowSeconds: w.seconds(now),
    };
  }

  /**
   * Topics published to recently (with the subscriptions matching each), then the selectors
   * subscribed to that are not among them (URI templates and `*` marked as patterns).
   */
  #topicStats(retained: (topic: string) => unknown, now: number, monitors: MonitorView): TopicStats[] {
    const index = this.#sources.index;
    const rows: TopicStats[] = [];
    const seen = new Set<string>();
    for (const a of this.#activity.top(now)) {
      seen.add(a.topic);
      rows.push({
        topic: a.topic,
        pattern: false,
        subscribers: index.matchCount(a.topic) - monitors.matching(a.topic),
        updates: a.updates,
        updatesPerSec: a.updatesPerSec,
        retained: retained(a.topic) ?? null,
      });
    }
    // A selector only monitors use (the dashboard's own tail) is not the hub's traffic.
    const selectors = [...index.counts()]
      .map(([source, n]): [string, number] => [source, n - monitors.using(source)])
      .filter(([source, n]) => n > 0 && source !== STATS_TOPIC && !seen.has(source))
      .sort((a, b) => b[1] - a[1])
      .slice(0, this.#activity.limit);
    for (const [source, subscribers] of selectors) {
      const pattern = index.isPattern(source);
      rows.push({
        topic: source,
        pattern,
        subscribers,
        updates: 0,
        updatesPerSec: 0,
        retained: pattern ? null : (retained(source) ?? null),
      });
    }
    return rows;
  }
}

/**
 * The rates of the last `capacity` stats ticks, so a dashboard that connects draws the last
 * minutes at once instead of an empty chart. Bounded (at most 600 samples): memory does not
 * grow with uptime.
 */
export class RateHistory {
  readonly capacity: number;
  readonly #samples: RateSample[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('a rate history needs room for a sample');
    this.capacity = capacity;
  }

  /** How many ticks cover `seconds` at one tick every `intervalMs` (at most 600 ticks). */
  static capacityFor(seconds: number, intervalMs: number): number {
    return Math.min(600, Math.max(1, Math.ceil((seconds * 1000) / Math.max(1, intervalMs))));
  }

  record({ time, publishedPerSec, deliveredPerSec }: RateSample): void {
    this.#samples.push({ time, publishedPerSec, deliveredPerSec });
    if (this.#samples.length > this.capacity) this.#samples.shift();
  }

  /** The samples kept, oldest first. */
  samples(): RateSample[] {
    return [...this.#samples];
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
