import { AggregatorRegistry, type Registry } from 'prom-client';
import type { ClusterLink } from '../broker/cluster.ts';
import { mergeStats, type CapKey, type NodeView } from '../hub/node-view.ts';
import type { PresenceDoc, PresenceStore } from '../hub/presence-store.ts';
import type { HubStatsSnapshot } from '../hub/stats.ts';

/**
 * `--workers N`, one node, one view: the messages that make the workers' connection caps,
 * stats and `/metrics` cover the whole node. They ride the node:cluster IPC link each worker
 * already has with the primary, beside the relay's and the state owner's, and none is sent
 * per publish or per delivery: connection counts when they change (at most one message per
 * event-loop turn), a stats snapshot per stats interval, metrics when scraped.
 */
type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** A change of one process's connections for one key of a per-key cap. */
export type KeyDelta = [kind: CapKey, key: string, by: number];

/** A worker's messages to the primary. */
export type ToNodeView =
  | { herald: 'node-count'; n: number; keys?: KeyDelta[] }
  | { herald: 'node-stats'; snapshot: HubStatsSnapshot }
  | { herald: 'node-metrics-ask'; id: number }
  | { herald: 'node-metrics-part'; req: number; json: MetricsJson }
  | { herald: 'presence-write'; add: PresenceDoc[]; remove: string[]; replace?: boolean }
  | { herald: 'presence-list'; id: number };

/** The primary's messages to a worker. */
export type FromNodeView =
  | { herald: 'node-counts'; counts: Record<string, number> }
  | { herald: 'node-keys'; keys: KeyDelta[] }
  | { herald: 'node-stats'; from: number; snapshot: HubStatsSnapshot }
  | { herald: 'node-metrics-collect'; req: number }
  | { herald: 'node-metrics'; id: number; text?: string; error?: string }
  | { herald: 'presence-docs'; id: number; docs: PresenceDoc[] }
  | { herald: 'presence-expired'; docs: PresenceDoc[] };

function heraldMessage(m: unknown): { herald: string } | undefined {
  return typeof m === 'object' && m !== null && typeof (m as { herald?: unknown }).herald === 'string'
    ? (m as { herald: string })
    : undefined;
}

/** How long the primary waits for every worker's registry before answering with those it has. */
const METRICS_WAIT_MS = 2_000;

/**
 * The worker's side. `attach` gives it the hub's stats and the metrics registry once they
 * exist; until then it reports nothing.
 */
export class WorkerNodeView implements NodeView {
  readonly #link: ClusterLink<ToNodeView, unknown>;
  readonly #self: number;
  readonly #statsIntervalMs: number;
  #others = 0;
  readonly #stats = new Map<number, { at: number; snapshot: HubStatsSnapshot }>();
  #count = 0;
  #countQueued = false;
  /** The other workers' connections per key of the per-key caps, as last reported. */
  readonly #othersByKey: Record<CapKey, Map<string, number>> = {
    ip: new Map(),
    subject: new Map(),
    selector: new Map(),
  };
  /** This worker's key changes not yet sent, summed per key. */
  #keyChanges: Record<CapKey, Map<string, number>> | undefined;
  #registry: Registry | undefined;
  readonly #asks = new Map<number, (m: { text?: string; error?: string }) => void>();
  #nextAsk = 1;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #stop: () => void;

  constructor(link: ClusterLink<ToNodeView, unknown>, self: number, statsIntervalMs: number) {
    this.#link = link;
    this.#self = self;
    this.#statsIntervalMs = statsIntervalMs;
    this.#stop = link.listen((raw) => this.#receive(raw));
  }

  #receive(raw: unknown): void {
    const m = heraldMessage(raw) as FromNodeView | undefined;
    if (!m) return;
    switch (m.herald) {
      case 'node-counts': {
        let others = 0;
        for (const [id, n] of Object.entries(m.counts)) if (Number(id) !== this.#self) others += n;
        this.#others = others;
        return;
      }
      case 'node-keys':
        for (const [kind, key, by] of m.keys) addTo(this.#othersByKey[kind], key, by);
        return;
      case 'node-stats':
        if (m.from !== this.#self) this.#stats.set(m.from, { at: Date.now(), snapshot: m.snapshot });
        this.#fresh(); // workers that died stop counting, and their entries go
        return;
      case 'node-metrics-collect':
        void this.#registry?.getMetricsAsJSON().then((json) => {
          if (this.#link.connected) this.#link.send({ herald: 'node-metrics-part', req: m.req, json });
        });
        return;
      case 'node-metrics': {
        const answer = this.#asks.get(m.id);
        this.#asks.delete(m.id);
        answer?.(m);
        return;
      }
      case 'presence-docs': {
        const answer = this.#presenceAsks.get(m.id);
        this.#presenceAsks.delete(m.id);
        answer?.(m.docs);
        return;
      }
      case 'presence-expired':
        this.#presenceHandlers?.onExpired(m.docs);
        return;
      default:
        return;
    }
  }

  readonly #presenceAsks = new Map<number, (docs: PresenceDoc[] | undefined) => void>();
  #presenceHandlers: { onExpired(docs: PresenceDoc[]): void } | undefined;

  /**
   * `--subscriptions` without Redis: the primary keeps every worker's subscription documents,
   * so the subscriptions API of any worker lists the whole node's. A worker that dies is
   * known at once (its IPC link closes): the primary hands its documents to one live worker,
   * which announces their end.
   */
  readonly presence: PresenceStore = {
    ttlMs: 0,
    start: async (handlers) => {
      this.#presenceHandlers = handlers;
    },
    write: async (add, remove) => {
      if (this.#link.connected)
        this.#link.send({ herald: 'presence-write', add: [...add], remove: [...remove] });
    },
    replaceAll: async (docs) => {
      if (this.#link.connected)
        this.#link.send({ herald: 'presence-write', add: [...docs], remove: [], replace: true });
    },
    listOthers: async () => {
      if (!this.#link.connected) throw new Error('primary process is gone');
      const id = this.#nextAsk++;
      const docs = await new Promise<PresenceDoc[] | undefined>((resolve) => {
        this.#presenceAsks.set(id, resolve);
        this.#link.send({ herald: 'presence-list', id });
      });
      if (!docs) throw new Error('closed');
      return docs;
    },
    close: async () => {
      if (this.#link.connected)
        this.#link.send({ herald: 'presence-write', add: [], remove: [], replace: true });
    },
  };

  /** Starts reporting: this worker's stats every interval (without retained values: every worker has the same). */
  attach(stats: () => HubStatsSnapshot, registry: Registry): void {
    this.#registry = registry;
    if (this.#statsIntervalMs <= 0) return;
    this.#timer = setInterval(() => {
      if (!this.#link.connected) return;
      const s = stats();
      const snapshot = { ...s, topics: s.topics.map((t) => ({ ...t, retained: null })) };
      this.#link.send({ herald: 'node-stats', snapshot });
    }, this.#statsIntervalMs);
    this.#timer.unref();
  }

  othersConnections(): number {
    return this.#others;
  }

  othersHolding(kind: CapKey, key: string): number {
    return this.#othersByKey[kind].get(key) ?? 0;
  }

  connectionsChanged(total: number): void {
    this.#count = total;
    this.#queueCount();
  }

  keyChanged(kind: CapKey, key: string, by: number): void {
    this.#keyChanges ??= { ip: new Map(), subject: new Map(), selector: new Map() };
    addTo(this.#keyChanges[kind], key, by);
    this.#queueCount();
  }

  #queueCount(): void {
    if (this.#countQueued) return;
    this.#countQueued = true;
    // One message per turn however many connections a turn opened or closed (a storm); a
    // key opened and closed within the turn sums to nothing and is not sent.
    setImmediate(() => {
      this.#countQueued = false;
      const changes = this.#keyChanges;
      this.#keyChanges = undefined;
      if (!this.#link.connected) return;
      const keys: KeyDelta[] = [];
      for (const kind of ['ip', 'subject', 'selector'] as const)
        for (const [key, by] of changes?.[kind] ?? []) keys.push([kind, key, by]);
      this.#link.send({ herald: 'node-count', n: this.#count, ...(keys.length > 0 ? { keys } : {}) });
    });
  }

  nodeStats(local: HubStatsSnapshot): HubStatsSnapshot {
    return mergeStats(local, this.#fresh());
  }

  /** The other workers' snapshots heard within three intervals; older ones are forgotten. */
  #fresh(): HubStatsSnapshot[] {
    const fresh: HubStatsSnapshot[] = [];
    const cutoff = Date.now() - 3 * Math.max(this.#statsIntervalMs, 1000);
    for (const [id, s] of this.#stats) {
      if (s.at < cutoff) this.#stats.delete(id);
      else fresh.push(s.snapshot);
    }
    return fresh;
  }

  /** The whole node's metrics in the Prometheus text format, aggregated by the primary. */
  async metrics(): Promise<string> {
    if (!this.#link.connected) throw new Error('primary process is gone');
    const id = this.#nextAsk++;
    const answer = await new Promise<{ text?: string; error?: string }>((resolve) => {
      this.#asks.set(id, resolve);
      this.#link.send({ herald: 'node-metrics-ask', id });
    });
    if (answer.text === undefined) throw new Error(answer.error ?? 'no metrics from the primary');
    return answer.text;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#stop();
    for (const answer of this.#asks.values()) answer({ error: 'closed' });
    this.#asks.clear();
    for (const answer of this.#presenceAsks.values()) answer(undefined);
    this.#presenceAsks.clear();
  }
}

/**
 * The primary's side: keeps each worker's connection count and passes it (and stats
 * snapshots) on to every worker; answers a metrics request by collecting every worker's
 * registry and aggregating them with prom-client's AggregatorRegistry (counters and
 * histograms summed, gauges by their declared aggregator).
 */
export class PrimaryNodeView {
  readonly #links = new Map<number, ClusterLink<FromNodeView, unknown>>();
  readonly #counts = new Map<number, number>();
  /** Each worker's connections per key of the per-key caps (to undo when it exits). */
  readonly #keys = new Map<number, Record<CapKey, Map<string, number>>>();
  /** Each worker's subscription documents by id (`--subscriptions` without Redis). */
  readonly #presence = new Map<number, Map<string, PresenceDoc>>();
  #countsQueued = false;
  #nextReq = 1;
  readonly #collecting = new Map<
    number,
    { parts: MetricsJson[]; waiting: Set<number>; finish: () => void }
  >();

  /** Serves one worker until the returned function is called (it exited). */
  attach(id: number, link: ClusterLink<FromNodeView, unknown>): () => void {
    this.#links.set(id, link);
    const stop = link.listen((raw) => this.#receive(id, link, raw));
    this.#broadcastCounts();
    // A new worker starts from the others' per-key counts; changes follow in order.
    const held = this.#allKeys();
    if (held.length > 0) link.send({ herald: 'node-keys', keys: held });
    return () => {
      stop();
      this.#links.delete(id);
      this.#counts.delete(id);
      this.#broadcastCounts();
      const gone = this.#allKeys(id).map(([kind, key, n]): KeyDelta => [kind, key, -n]);
      this.#keys.delete(id);
      if (gone.length > 0) this.#sendKeys(id, gone);
      const docs = this.#presence.get(id);
      this.#presence.delete(id);
      // One live worker announces that the dead one's subscriptions ended.
      const heir = [...this.#links.values()].find((l) => l.connected);
      if (docs && docs.size > 0 && heir) heir.send({ herald: 'presence-expired', docs: [...docs.values()] });
      for (const c of this.#collecting.values()) {
        c.waiting.delete(id);
        if (c.waiting.size === 0) c.finish();
      }
    };
  }

  #receive(from: number, link: ClusterLink<FromNodeView, unknown>, raw: unknown): void {
    const m = heraldMessage(raw) as ToNodeView | undefined;
    if (!m) return;
    switch (m.herald) {
      case 'node-count':
        this.#counts.set(from, m.n);
        this.#broadcastCounts();
        if (m.keys) {
          let held = this.#keys.get(from);
          if (!held)
            this.#keys.set(from, (held = { ip: new Map(), subject: new Map(), selector: new Map() }));
          for (const [kind, key, by] of m.keys) addTo(held[kind], key, by);
          this.#sendKeys(from, m.keys);
        }
        return;
      case 'node-stats':
        for (const [id, l] of this.#links)
          if (id !== from && l.connected) l.send({ herald: 'node-stats', from, snapshot: m.snapshot });
        return;
      case 'node-metrics-ask':
        this.#collect(link, m.id);
        return;
      case 'presence-write': {
        let docs = this.#presence.get(from);
        if (!docs || m.replace) this.#presence.set(from, (docs = new Map()));
        for (const id of m.remove) docs.delete(id);
        for (const doc of m.add) docs.set(doc.id, doc);
        return;
      }
      case 'presence-list': {
        const docs: PresenceDoc[] = [];
        for (const [wid, held] of this.#presence) if (wid !== from) docs.push(...held.values());
        link.send({ herald: 'presence-docs', id: m.id, docs });
        return;
      }
      case 'node-metrics-part': {
        const c = this.#collecting.get(m.req);
        if (!c || !c.waiting.delete(from)) return;
        c.parts.push(m.json);
        if (c.waiting.size === 0) c.finish();
        return;
      }
      default:
        return;
    }
  }

  /** Every worker's per-key counts summed (or only worker `only`'s), as deltas from zero. */
  #allKeys(only?: number): KeyDelta[] {
    const sum: Record<CapKey, Map<string, number>> = {
      ip: new Map(),
      subject: new Map(),
      selector: new Map(),
    };
    for (const [wid, held] of this.#keys) {
      if (only !== undefined && wid !== only) continue;
      for (const kind of ['ip', 'subject', 'selector'] as const)
        for (const [key, n] of held[kind]) addTo(sum[kind], key, n);
    }
    const out: KeyDelta[] = [];
    for (const kind of ['ip', 'subject', 'selector'] as const)
      for (const [key, n] of sum[kind]) out.push([kind, key, n]);
    return out;
  }

  /** Passes one worker's key changes to every other worker. */
  #sendKeys(from: number, keys: KeyDelta[]): void {
    for (const [id, l] of this.#links) if (id !== from && l.connected) l.send({ herald: 'node-keys', keys });
  }

  #broadcastCounts(): void {
    if (this.#countsQueued) return;
    this.#countsQueued = true;
    setImmediate(() => {
      this.#countsQueued = false;
      const counts = Object.fromEntries(this.#counts);
      for (const l of this.#links.values()) if (l.connected) l.send({ herald: 'node-counts', counts });
    });
  }

  #collect(asker: ClusterLink<FromNodeView, unknown>, id: number): void {
    const req = this.#nextReq++;
    const waiting = new Set([...this.#links].filter(([, l]) => l.connected).map(([wid]) => wid));
    const parts: MetricsJson[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#collecting.delete(req);
      AggregatorRegistry.aggregate(parts)
        .metrics()
        .then(
          (text) => asker.connected && asker.send({ herald: 'node-metrics', id, text }),
          (e: unknown) =>
            asker.connected &&
            asker.send({ herald: 'node-metrics', id, error: e instanceof Error ? e.message : String(e) }),
        );
    };
    // A worker that hangs does not hang the scrape: after the wait, the others are answered.
    const timer = setTimeout(finish, METRICS_WAIT_MS);
    timer.unref();
    this.#collecting.set(req, { parts, waiting, finish });
    for (const wid of waiting) this.#links.get(wid)!.send({ herald: 'node-metrics-collect', req });
    if (waiting.size === 0) finish();
  }
}

/** Adds `by` to a key's count; a count back at zero is deleted, so maps hold only live keys. */
function addTo(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
}
