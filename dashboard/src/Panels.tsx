import type { ReactNode } from 'react';
import { formatCount, formatRate, prettyJson, previewJson } from './format.ts';
import { sortedCounts, type Stats } from './stats.ts';
import { TopicName } from './TopicName.tsx';

/** A titled card; `wide` spans the whole grid row. */
export function Card({
  title,
  wide,
  className,
  actions,
  children,
  testId,
}: {
  title: string;
  wide?: boolean;
  className?: string;
  actions?: ReactNode;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <section
      className={['card', wide ? 'card-wide' : '', className ?? ''].join(' ').trim()}
      aria-label={title}
      data-testid={testId}
    >
      <header className="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

const DASH = '–';

function Kpi({
  label,
  value,
  unit,
  testId,
  title,
  note,
}: {
  label: string;
  value: string;
  unit?: string;
  testId: string;
  title?: string;
  note?: string;
}) {
  return (
    <div className="kpi" data-testid={testId} title={title}>
      <div className="kpi-label">
        {label}
        {note ? <span className="kpi-note">{note}</span> : null}
      </div>
      <div className="kpi-value num">
        {value}
        {unit ? <span className="kpi-unit">{unit}</span> : null}
      </div>
    </div>
  );
}

/** The hub leaves dashboards out of its numbers; say so, so 0 connections is read right. */
export function monitorNote(stats: Stats | null): string | undefined {
  const n = stats?.connections.monitors ?? 0;
  return n > 0 ? `+${formatCount(n)} dashboard${n === 1 ? '' : 's'}` : undefined;
}

const MONITOR_TITLE =
  'Dashboards (this page included) are not counted: connections, subscribers and deliveries are the hub’s own traffic.';

/** The headline numbers. */
export function Kpis({ stats }: { stats: Stats | null }) {
  const count = (n: number | undefined) => (n === undefined ? DASH : formatCount(n));
  const rate = (n: number | undefined) => (n === undefined ? DASH : formatRate(n));
  return (
    <div className="kpis">
      <Kpi
        label="Connections"
        value={count(stats?.connections.total)}
        testId="kpi-connections"
        note={monitorNote(stats)}
        title={MONITOR_TITLE}
      />
      <Kpi label="Published" value={count(stats?.totals.published)} testId="kpi-published" />
      <Kpi label="Delivered" value={count(stats?.totals.delivered)} testId="kpi-delivered" />
      <Kpi
        label="Publish rate"
        value={rate(stats?.rates.publishedPerSec)}
        unit="/s"
        testId="kpi-publish-rate"
        title={rateTitle(stats)}
      />
      <Kpi
        label="Delivery rate"
        value={rate(stats?.rates.deliveredPerSec)}
        unit="/s"
        testId="kpi-delivery-rate"
        title={rateTitle(stats)}
      />
    </div>
  );
}

/** A name/count list in a fixed-height scroller, with a bar proportional to the largest count. */
function CountList({
  rows,
  empty,
  label,
  limit = 100,
  display = (name) => name,
}: {
  rows: [string, number][];
  empty: string;
  label: string;
  limit?: number;
  display?: (name: string) => string;
}) {
  const max = rows.reduce((m, [, n]) => Math.max(m, n), 0) || 1;
  const shown = rows.slice(0, limit);
  return (
    <div className="scroller">
      {rows.length === 0 ? (
        <p className="empty">{empty}</p>
      ) : (
        <table className="counts">
          <thead>
            <tr>
              <th scope="col">{label}</th>
              <th scope="col" className="n">
                Count
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map(([name, n]) => (
              <tr key={name}>
                <td className="name" title={name}>
                  <span className="bar" style={{ width: `${(n / max) * 100}%` }} aria-hidden="true" />
                  <span className="label">{display(name)}</span>
                </td>
                <td className="n num">{formatCount(n)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows.length > shown.length ? (
        <p className="more">and {formatCount(rows.length - shown.length)} more</p>
      ) : null}
    </div>
  );
}

const TRANSPORTS = ['sse', 'ws'];

/** Connections by transport (always both rows) and by subject. */
export function Connections({ stats }: { stats: Stats | null }) {
  const byTransport = stats?.connections.byTransport ?? {};
  const transports = [...TRANSPORTS, ...Object.keys(byTransport).filter((t) => !TRANSPORTS.includes(t))];
  return (
    <Card title="Connections" testId="connections">
      <dl className="transports">
        {transports.map((t) => (
          <div key={t} className="transport" data-testid={`transport-${t}`}>
            <dt>{t.toUpperCase()}</dt>
            <dd className="num">{stats ? formatCount(byTransport[t] ?? 0) : DASH}</dd>
          </div>
        ))}
      </dl>
      <CountList
        rows={sortedCounts(stats?.connections.bySubject ?? {})}
        empty="No connections"
        label="Subject"
      />
    </Card>
  );
}

/**
 * Topics published to recently, with the subscriptions matching each, their update rate and
 * retained state; then the selectors subscribed to (templates and `*`, marked as such).
 */
export function Topics({ stats }: { stats: Stats | null }) {
  const topics = [...(stats?.topics ?? [])].sort(
    (a, b) =>
      Number(a.pattern) - Number(b.pattern) ||
      b.subscribers - a.subscribers ||
      b.updates - a.updates ||
      a.topic.localeCompare(b.topic),
  );
  const shown = topics.slice(0, 200);
  return (
    <Card
      title="Topics"
      testId="topics"
      actions={
        topics.length > 0 ? (
          <span className="muted num" data-testid="topics-count" title={MONITOR_TITLE}>
            {formatCount(topics.length)}
          </span>
        ) : null
      }
    >
      <div className="scroller">
        {topics.length === 0 ? (
          <p className="empty">No topics</p>
        ) : (
          <table className="topics">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col" className="n" title="Subscriptions matching the topic">
                  Subs
                </th>
                <th scope="col" className="n" title={rateTitle(stats)}>
                  Upd/s
                </th>
                <th scope="col">Retained</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => (
                <tr key={`${t.pattern ? 's' : 't'}${t.topic}`} className={t.pattern ? 'pattern' : undefined}>
                  <td className="name">
                    <TopicName
                      topic={t.topic}
                      title={t.pattern ? `${t.topic} (selector: subscribed to, not a topic)` : t.topic}
                    />
                  </td>
                  <td className="n num">{formatCount(t.subscribers)}</td>
                  <td className="n num" title={t.pattern ? undefined : `${formatCount(t.updates)} updates`}>
                    {t.pattern ? DASH : formatRate(t.updatesPerSec)}
                  </td>
                  <td className="retained">
                    {t.pattern ? (
                      <span className="muted">selector</span>
                    ) : t.retained === null ? (
                      <span className="muted">none</span>
                    ) : (
                      <details>
                        <summary className="mono">{previewJson(t.retained, 80)}</summary>
                        <pre>{prettyJson(t.retained)}</pre>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {topics.length > shown.length ? (
          <p className="more">and {formatCount(topics.length - shown.length)} more</p>
        ) : null}
      </div>
    </Card>
  );
}

/** Says how the hub measured a rate, so the numbers are read for what they are. */
export function rateTitle(stats: Stats | null): string {
  const seconds = Math.round(stats?.rates.windowSeconds ?? 0);
  return seconds > 0 ? `per second, averaged over the last ${seconds} s` : 'per second';
}

/** `HERALD_ERR_TOO_MANY_SELECTORS` reads as "too many selectors"; the code stays in the tooltip. */
function reasonLabel(code: string): string {
  return code
    .replace(/^HERALD_ERR_/, '')
    .replace(/_/g, ' ')
    .toLowerCase();
}

/** Requests the hub turned away, by reason. */
export function Refusals({ stats }: { stats: Stats | null }) {
  return (
    <Card title="Refusals" testId="refusals">
      <CountList
        rows={sortedCounts(stats?.refusals ?? {})}
        empty="No refusals"
        label="Reason"
        display={reasonLabel}
      />
    </Card>
  );
}
