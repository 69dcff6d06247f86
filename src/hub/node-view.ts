import type { HubStatsSnapshot, TopicStats } from './stats.ts';

/**
 * The other processes of this node (`herald serve --workers N`), as one hub process sees them:
 * the seam through which the connection cap and the dashboard's stats cover the whole node.
 * The hub core knows nothing of how the numbers travel (node:cluster IPC, src/cli/node-view.ts).
 *
 * Contract:
 * - `othersConnections()` is synchronous and cheap (it runs on every admission): the
 *   connections the other processes last reported. `connectionsChanged(total)` is told this
 *   process's count after every change and passes it on asynchronously. Between a change on
 *   one process and its arrival at another, both may admit: the node may exceed the cap by
 *   the connections opened on other processes within one IPC hop.
 * - `othersHolding(kind, key)` is synchronous and cheap too: how many connections the other
 *   processes last reported for one client IP, JWT subject or selector (the per-key caps).
 *   `keyChanged(kind, key, by)` is told every change of this process's count for a key whose
 *   cap is on, and passes the changes on asynchronously, with the same one-hop window.
 * - `nodeStats(local)` turns this process's snapshot into the node's (totals and rates
 *   summed, topics merged), from the other processes' latest snapshots; a process not heard
 *   from for a few intervals is left out.
 */
/** What a per-key connection cap counts by: client IP, JWT subject, or selector. */
export type CapKey = 'ip' | 'subject' | 'selector';

export interface NodeView {
  othersConnections(): number;
  connectionsChanged(total: number): void;
  othersHolding(kind: CapKey, key: string): number;
  keyChanged(kind: CapKey, key: string, by: number): void;
  nodeStats(local: HubStatsSnapshot): HubStatsSnapshot;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

/**
 * One snapshot for the whole node. Connections, totals, rates and refusals are per process
 * and add up. Every process dispatches every update, so a topic's update count and rate are
 * already the node's (the largest is taken); its subscribers add up.
 */
export function mergeStats(local: HubStatsSnapshot, others: readonly HubStatsSnapshot[]): HubStatsSnapshot {
  if (others.length === 0) return local;
  const byTransport = { ...local.connections.byTransport };
  const bySubject = { ...local.connections.bySubject };
  const refusals = { ...local.refusals };
  let total = local.connections.total;
  let monitors = local.connections.monitors;
  let published = local.totals.published;
  let delivered = local.totals.delivered;
  let publishedPerSec = local.rates.publishedPerSec;
  let deliveredPerSec = local.rates.deliveredPerSec;
  const topics = new Map<string, TopicStats>();
  const key = (t: TopicStats): string => `${t.pattern ? 'p' : 't'} ${t.topic}`;
  for (const t of local.topics) topics.set(key(t), { ...t });
  for (const o of others) {
    total += o.connections.total;
    monitors += o.connections.monitors;
    addCounts(byTransport, o.connections.byTransport);
    addCounts(bySubject, o.connections.bySubject);
    addCounts(refusals, o.refusals);
    published += o.totals.published;
    delivered += o.totals.delivered;
    publishedPerSec += o.rates.publishedPerSec;
    deliveredPerSec += o.rates.deliveredPerSec;
    for (const t of o.topics) {
      const had = topics.get(key(t));
      if (!had) {
        topics.set(key(t), { ...t });
        continue;
      }
      had.subscribers += t.subscribers;
      had.updates = Math.max(had.updates, t.updates);
      had.updatesPerSec = Math.max(had.updatesPerSec, t.updatesPerSec);
      if (had.retained === null) had.retained = t.retained;
    }
  }
  // As long as the longest list: each process already kept only its most active topics.
  const limit = Math.max(local.topics.length, ...others.map((o) => o.topics.length));
  return {
    ...local,
    connections: { total, byTransport, bySubject, monitors },
    totals: { published, delivered },
    rates: { ...local.rates, publishedPerSec, deliveredPerSec },
    topics: [...topics.values()].slice(0, limit),
    refusals,
    processes: 1 + others.length,
  };
}
