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
  /** A batch of events or a store write failed (presence is best effort). */
  onLost(what: 'events' | 'store'): void;
}

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
 */
export class PresenceFeed {
  readonly #o: PresenceFeedOptions;
  readonly #intervalMs: number;
  readonly #maxBatch: number;
  readonly #pending = new Map<string, Pending>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Events published and batches sent since the start (metrics, tests). */
  readonly counts = { events: 0, batches: 0, cancelled: 0 };

  constructor(options: PresenceFeedOptions) {
    this.#o = options;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
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
    const before = this.#pending.get(p.doc.id);
    if (before !== undefined && before.active !== p.active) {
      // Started and ended (or ended and started again) within one interval: nothing changed.
      this.#pending.delete(p.doc.id);
      this.counts.cancelled++;
    } else {
      // Re-inserted at the end, so the order of events follows the order of changes.
      this.#pending.delete(p.doc.id);
      this.#pending.set(p.doc.id, p);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#pending.size === 0) return;
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
    while (this.#pending.size > 0) await this.#flushOnce();
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
