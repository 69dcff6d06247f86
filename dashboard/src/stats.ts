/**
 * The `herald.stats` payload the hub publishes once a second on `/.well-known/herald/stats`,
 * checked field by field so a partial or newer payload degrades instead of crashing the UI.
 */

import {
  HubEvent,
  STATS_TOPIC,
  type HubStatsSnapshot,
  type RateSample,
  type TopicStats,
} from 'herald/client';

export { STATS_TOPIC };
export type { RateSample, TopicStats };
export const STATS_EVENT = HubEvent.stats;

/**
 * The stats as the dashboard shows them: the hub's wire format (protocol/stats.ts), with the
 * rate history always present (empty but in the first event of a stream).
 */
export type Stats = Omit<HubStatsSnapshot, 'history'> & { history: RateSample[] };

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function counts(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(obj(value))) out[key] = num(n);
  return out;
}

/**
 * Reads a `herald.stats` event's data, as the client SDK hands it over (already parsed) or as
 * raw JSON text; `null` if it is not a JSON object at all.
 */
export function parseStats(data: unknown): Stats | null {
  let raw: unknown = data;
  if (typeof data === 'string') {
    try {
      raw = JSON.parse(data);
    } catch {
      return null;
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const root = obj(raw);
  const broker = obj(root.broker);
  const connections = obj(root.connections);
  const totals = obj(root.totals);
  const rates = obj(root.rates);
  const topics = Array.isArray(root.topics) ? root.topics : [];
  return {
    time: num(root.time) || Date.now(),
    broker: { kind: typeof broker.kind === 'string' ? broker.kind : 'unknown', ready: broker.ready === true },
    connections: {
      total: num(connections.total),
      byTransport: counts(connections.byTransport),
      bySubject: counts(connections.bySubject),
      monitors: num(connections.monitors),
    },
    totals: { published: num(totals.published), delivered: num(totals.delivered) },
    rates: {
      publishedPerSec: num(rates.publishedPerSec),
      deliveredPerSec: num(rates.deliveredPerSec),
      windowSeconds: num(rates.windowSeconds),
    },
    topics: topics
      .map(obj)
      .filter((t) => typeof t.topic === 'string')
      .map((t) => ({
        topic: t.topic as string,
        pattern: t.pattern === true,
        subscribers: num(t.subscribers),
        updates: num(t.updates),
        updatesPerSec: num(t.updatesPerSec),
        retained: t.retained ?? null,
      })),
    refusals: counts(root.refusals),
    history: (Array.isArray(root.history) ? root.history : [])
      .slice(-WINDOW_SECONDS * 5)
      .map(obj)
      .filter((h) => num(h.time) > 0)
      .map((h) => ({
        time: num(h.time),
        publishedPerSec: num(h.publishedPerSec),
        deliveredPerSec: num(h.deliveredPerSec),
      })),
  };
}

/** Entries sorted by count (largest first), then by name, so rows do not shuffle between ties. */
export function sortedCounts(record: Record<string, number>): [string, number][] {
  return Object.entries(record).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** How many rate samples the chart keeps: one a second for two minutes. */
export const WINDOW_SECONDS = 120;

/** Columns for uPlot: time in seconds, published/s, delivered/s (null marks a gap). */
export interface RateSeries {
  time: number[];
  published: (number | null)[];
  delivered: (number | null)[];
}

export const emptySeries = (): RateSeries => ({ time: [], published: [], delivered: [] });

/**
 * Appends one sample and drops those older than the window. A silence longer than a few
 * seconds (reconnection) gets a null point so the chart shows a gap instead of a false line.
 * Samples older than the last one (replayed on resume) are ignored.
 */
export function appendSample(series: RateSeries, stats: Pick<Stats, 'time' | 'rates'>): RateSeries {
  const t = stats.time / 1000;
  const last = series.time[series.time.length - 1];
  if (last !== undefined && t <= last) return series;
  const time = [...series.time];
  const published = [...series.published];
  const delivered = [...series.delivered];
  if (last !== undefined && t - last > 3) {
    time.push(last + 1);
    published.push(null);
    delivered.push(null);
  }
  time.push(t);
  published.push(stats.rates.publishedPerSec);
  delivered.push(stats.rates.deliveredPerSec);
  let drop = 0;
  while (drop < time.length && (time[drop] ?? t) < t - WINDOW_SECONDS) drop += 1;
  return { time: time.slice(drop), published: published.slice(drop), delivered: delivered.slice(drop) };
}

/**
 * Adds the hub's rate history (sent with a stream's first stats event) before the sample it
 * came with: a fresh page's chart starts full, and a reconnection's gap is filled in.
 */
export function withHistory(series: RateSeries, stats: Stats): RateSeries {
  let out = series;
  for (const h of stats.history)
    out = appendSample(out, {
      time: h.time,
      rates: { publishedPerSec: h.publishedPerSec, deliveredPerSec: h.deliveredPerSec, windowSeconds: 0 },
    });
  return appendSample(out, stats);
}
