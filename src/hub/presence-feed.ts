import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { Selector } from '../protocol/selector.ts';
import type { PublishInput } from '../protocol/update.ts';
import { subscriptionDocs, subscriptionDocs08 } from './presence.ts';
import type { PresenceDoc, PresenceStore } from './presence-store.ts';
import type { Subscription } from './subscription.ts';

export interface PresenceFeedOptions {
  /** Hub path: subscription events go to `{path}/subscriptions/...`. */
  eventsPath: string;
  /** Publishes a batch of subscription events (the broker: every node's watchers get them). */
  publish(inputs: PublishInput[]): Promise<unknown>;
  /** Whether a selector is announced (watching subscription events is not, or it would echo). */
  announced(sel: Selector): boolean;
  /** This node's live subscriptions, for the API and for rewriting the store after a revival. */
  local(): Iterable<Subscription>;
  /** Cluster-wide presence (Redis); without one the API lists this node's subscriptions only. */
  store?: PresenceStore;
  /** Changes are gathered for this long, then go out together (default 100 ms). */
  intervalMs?: number;
  /** Most events (and store changes) sent per interval; the rest wait for the next (default 1000). */
  maxBatch?: number;
  /**
   * Most changes waiting to be sent (default MAX_PENDING_PRESENCE_CHANGES). Past it, this
   * node's waiting changes are dropped and replaced by a resync: see PresenceFeed.
   */
  maxPending?: number;
  /** A batch of events or a store write failed (presence is best effort). */
  onLost(what: 'events' | 'store'): void;
}

/**
 * Default cap on the changes waiting to be sent. Churn faster than one batch per interval
 * (hostile clients connecting and dropping) would otherwise grow the queue without bound.
 */
export const MAX_PENDING_PRESENCE_CHANGES = 10_000;

interface Pending {
  doc: PresenceDoc;
  active: boolean;
  /** Sent as a subscription event. */
  announce: boolean;
  /** Recorded in (or removed from) the store: this node's own subscriptions only. */
  record: boolean;
}

/**
 * Subscription events and the presence store, coalesced: changes are gathered for one
 * interval and leave in one broker publish (and one store write) of at most `maxBatch`.
 * A subscription that starts and ends within one interval is never announced, and the rest
 * of a burst waits for the next intervals, so a reconnect storm reaches presence watchers
 * at no more than `maxBatch` events per interval instead of one publish per connection.
 * The order of one subscription's events is kept (a Map keeps insertion order).
 *
 * At most `maxPending` changes wait. Past that, this node's waiting changes are dropped and
 * the feed resyncs instead: it remembers which of its documents it last told watchers and
 * the store were active (`#told`), and from the next flush on sends the difference between
 * that and its live subscriptions (leaves first, `maxBatch` per interval) until none is left.
 * The difference is computed from state at each flush, so changes during a resync need no
 * queue, and watchers and the store end at the true set whatever the churn in between.
 */
export class PresenceFeed {
  readonly #o: PresenceFeedOptions;
  readonly #intervalMs: number;
  readonly #maxBatch: number;
  readonly #maxPending: number;
  readonly #pending = new Map<string, Pending>();
  /** This node's documents that watchers and the store were last told are active, by id. */
  readonly #told = new Map<string, PresenceDoc>();
  /** The queue overflowed: send the difference between `#told` and the live subscriptions. */
  #resync = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Events published and batches sent since the start (metrics, tests). */
  readonly counts = { events: 0, batches: 0, cancelled: 0, resyncs: 0, dropped: 0, peakPending: 0 };

  constructor(options: PresenceFeedOptions) {
    this.#o = options;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
    this.#maxPending = Math.max(1, options.maxPending ?? MAX_PENDING_PRESENCE_CHANGES);
  }

  /** Changes waiting to be sent (at most `maxPending`). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Whether the feed is resyncing after an overflow. */
  get resyncing(): boolean {
    return this.#resync;
  }

  async start(): Promise<void> {
    await this.#o.store?.start({
      onExpired: (docs) => {
        for (const doc of docs)
          this.#queue({ doc, active: false, announce: this.#announces(doc), record: false });
      },
      onRevived: () => {
        void this.#o.store?.replaceAll(this.#localDocs()).catch(() => this.#o.onLost('store'));
      },
    });
  }

  /** A subscription started (`active`) or ended, for `selectors` (default: all of its own). */
  changed(sub: Subscription, active: boolean, selectors: readonly Selector[] = sub.selectors): void {
    if (this.#closed && active) return;
    const view = { ...sub, selectors } as Subscription;
    const docs: PresenceDoc[] = [...subscriptionDocs(this.#o.eventsPath, view, true)];
    docs.push(...subscriptionDocs08(this.#o.eventsPath, view, true));
    for (const doc of docs) this.#queue({ doc, active, announce: this.#announces(doc), record: true });
  }

  #announces(doc: PresenceDoc): boolean {
    const source = 'topic' in doc ? doc.topic : doc.match;
    return this.#o.announced({ source } as Selector);
  }

  #queue(p: Pending): void {
    // While resyncing, this node's changes are read from its live subscriptions at the flush.
    if (this.#resync && p.record) return this.#schedule();
    const before = this.#pending.get(p.doc.id);
    if (before !== undefined && before.active !== p.active) {
      // Started and ended (or ended and started again) within one interval: nothing changed.
      this.#pending.delete(p.doc.id);
      this.counts.cancelled++;
    } else {
      // Re-inserted at the end, so the order of events follows the order of changes.
      this.#pending.delete(p.doc.id);
      this.#pending.set(p.doc.id, p);
      if (this.#pending.size > this.#maxPending) this.#overflow();
      if (this.#pending.size > this.counts.peakPending) this.counts.peakPending = this.#pending.size;
    }
    this.#schedule();
  }

  /** Folds this node's waiting changes into a resync; others' (expired nodes) stay, capped. */
  #overflow(): void {
    this.#resync = true;
    this.counts.resyncs++;
    for (const [id, p] of this.#pending) if (p.record) this.#pending.delete(id);
    // Only leaves of dead nodes' subscriptions are left: past the cap, the oldest are lost.
    let lost = 0;
    for (const id of this.#pending.keys()) {
      if (this.#pending.size <= this.#maxPending) break;
      this.#pending.delete(id);
      lost++;
    }
    if (lost > 0) {
      this.counts.dropped += lost;
      this.#o.onLost('events');
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || (this.#pending.size === 0 && !this.#resync)) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flushing.then(() => this.#flushOnce());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #flushOnce(): Promise<void> {
    const batch: Pending[] = [];
    for (const [id, p] of this.#pending) {
      if (batch.length >= this.#maxBatch) break;
      batch.push(p);
      this.#pending.delete(id);
    }
    if (this.#resync) this.#resyncInto(batch);
    for (const p of batch) {
      if (!p.record) continue;
      if (p.active) this.#told.set(p.doc.id, p.doc);
      else this.#told.delete(p.doc.id);
    }
    this.#schedule();
    if (batch.length === 0) return;
    const events = batch.filter((p) => p.announce).map((p) => eventOf(p.doc, p.active));
    const recorded = batch.filter((p) => p.record);
    const work: Promise<unknown>[] = [];
    if (events.length > 0) {
      this.counts.events += events.length;
      this.counts.batches++;
      work.push(this.#o.publish(events).catch(() => this.#o.onLost('events')));
    }
    const store = this.#o.store;
    if (store && recorded.length > 0) {
      const add = recorded.filter((p) => p.active).map((p) => p.doc);
      const remove = recorded.filter((p) => !p.active).map((p) => p.doc.id);
      work.push(store.write(add, remove).catch(() => this.#o.onLost('store')));
    }
    await Promise.all(work);
  }

  /**
   * Fills `batch` up to `maxBatch` with the difference between what was told and what is
   * live: leaves of told documents no longer live, then joins of live ones never told. The
   * resync ends when the difference fits.
   */
  #resyncInto(batch: Pending[]): void {
    const live = new Map<string, PresenceDoc>();
    for (const doc of this.#localDocs()) live.set(doc.id, doc);
    const room = this.#maxBatch - batch.length;
    const diff: Pending[] = [];
    for (const [id, doc] of this.#told) {
      if (diff.length > room) break;
      if (!live.has(id)) diff.push({ doc, active: false, announce: this.#announces(doc), record: true });
    }
    for (const [id, doc] of live) {
      if (diff.length > room || this.#closed) break;
      if (!this.#told.has(id)) diff.push({ doc, active: true, announce: this.#announces(doc), record: true });
    }
    // One more than fits was looked for: if it was found, the resync goes on next interval.
    if (diff.length <= room) this.#resync = false;
    for (let i = 0; i < diff.length && i < room; i++) batch.push(diff[i]!);
  }

  #localDocs(): PresenceDoc[] {
    const out: PresenceDoc[] = [];
    for (const sub of this.#o.local()) {
      out.push(...subscriptionDocs(this.#o.eventsPath, sub, true));
      out.push(...subscriptionDocs08(this.#o.eventsPath, sub, true));
    }
    return out;
  }

  /**
   * Every node's active subscriptions: this node's from memory (so they show at once), the
   * others' from the store. A 503 when the store cannot be read: a partial list would look
   * like subscribers leaving.
   */
  async list(): Promise<PresenceDoc[]> {
    const own = this.#localDocs();
    if (!this.#o.store) return own;
    let others: PresenceDoc[];
    try {
      others = await this.#o.store.listOthers();
    } catch (e) {
      throw new HeraldError(ErrorCode.brokerUnavailable, 'presence store unavailable; retry shortly', {
        retryAfter: 1,
        logMessage: `presence store: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
    return [...own, ...others];
  }

  /** Sends everything still gathered (the hub is stopping), then closes the store. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    // Bounded: each pass takes up to maxBatch, and nothing new is queued once closed.
    while (this.#pending.size > 0 || this.#resync) await this.#flushOnce();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#o.store?.close().catch(() => this.#o.onLost('store'));
  }
}

/** The private update announcing one subscription document, in its dialect's shape. */
function eventOf(doc: PresenceDoc, active: boolean): PublishInput {
  if (doc.type === 'Subscription')
    return {
      topics: [doc.id],
      data: JSON.stringify({ '@context': 'https://mercure.rocks/', ...doc, active }),
      private: true,
    };
  return { topics: [doc.id], data: JSON.stringify({ ...doc, active }), type: 'mercure', private: true };
}
