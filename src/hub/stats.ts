/**
 * Statistics: the hub's counters, its rate samples and per-topic activity, and the
 * `herald.stats` snapshot built from them (the wire format is protocol/stats.ts). The parts
 * of the hub bump the counters; everything outside reads them through `Hub.counters`,
 * typed read-only.
 */
import { subjectLabel } from '../auth/principal.ts';
import type { Broker } from '../broker/broker.ts';
import { STATS_TOPIC, type HubStatsSnapshot, type TopicStats } from '../protocol/stats.ts';
import { CounterRing, RateWindow } from './rate-window.ts';
import type { Subscription } from './subscription.ts';
import { TopicActivity } from './topic-activity.ts';
import type { TopicIndex } from './topic-index.ts';

/** Plain counters the hub keeps; cheap to bump on the hot path, read by metrics and the dashboard. */
export interface HubCounters {
  published: number;
  delivered: number;
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
  readonly #activity: TopicActivity;
  /** Topics of subscription events (one per subscriber): left out of topic activity. */
  readonly #presencePrefix: string | undefined;

  constructor(
    sources: StatsSources,
    options: { rateWindowSamples?: number; activeTopicsLimit?: number; presencePrefix?: string },
  ) {
    this.#sources = sources;
    this.#presencePrefix = options.presencePrefix;
    this.#rateWindow = new RateWindow(options.rateWindowSamples ?? 5);
    this.#publishedRing = new CounterRing(this.#rateWindow);
    this.#deliveredRing = new CounterRing(this.#rateWindow);
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
  sample(now: number): void {
    this.#rateWindow.sample(now);
    this.#publishedRing.store(this.#rateWindow, this.counters.published);
    this.#deliveredRing.store(this.#rateWindow, this.counters.delivered);
    this.#activity.sampled();
  }

  /** Node-local statistics, as shown on the dashboard. Reading them changes nothing. */
  snapshot(retained: (topic: string) => unknown, now: number): HubStatsSnapshot {
    const byTransport: Record<string, number> = { sse: 0, ws: 0 };
    const bySubject: Record<string, number> = {};
    let total = 0;
    for (const sub of this.#sources.subscriptions()) {
      total++;
      byTransport[sub.sink.transport] = (byTransport[sub.sink.transport] ?? 0) + 1;
      const label = subjectLabel(sub.principal);
      bySubject[label] = (bySubject[label] ?? 0) + 1;
    }
    const window = this.#rateWindow;
    const rates = {
      publishedPerSec: this.#publishedRing.rate(window, this.counters.published, now),
      deliveredPerSec: this.#deliveredRing.rate(window, this.counters.delivered, now),
      windowSeconds: window.seconds(now),
    };
    return {
      time: now,
      broker: this.#sources.broker.health(),
      connections: { total, byTransport, bySubject },
      totals: { published: this.counters.published, delivered: this.counters.delivered },
      rates,
      topics: this.#topicStats(retained, now),
      refusals: { ...this.counters.refusals },
    };
  }

  /**
   * Topics published to recently (with the subscriptions matching each), then the selectors
   * subscribed to that are not among them (URI templates and `*` marked as patterns).
   */
  #topicStats(retained: (topic: string) => unknown, now: number): TopicStats[] {
    const index = this.#sources.index;
    const rows: TopicStats[] = [];
    const seen = new Set<string>();
    for (const a of this.#activity.top(now)) {
      seen.add(a.topic);
      rows.push({
        topic: a.topic,
        pattern: false,
        subscribers: index.matchCount(a.topic),
        updates: a.updates,
        updatesPerSec: a.updatesPerSec,
        retained: retained(a.topic) ?? null,
      });
    }
    const selectors = [...index.counts()]
      .filter(([source]) => source !== STATS_TOPIC && !seen.has(source))
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

/** Whether a subscription gets the `herald.stats` events: an admin that asked for the topic. */
export function watchesStats(sub: Subscription): boolean {
  return sub.principal.admin === true && sub.selectors.some((s) => s.source === STATS_TOPIC);
}
