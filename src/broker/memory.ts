import { generateId } from '../protocol/ids.ts';
import { storedUpdate, type PublishInput, type Update } from '../protocol/update.ts';
import { RecentAnswers } from './idempotency.ts';
import type { Broker, BrokerHealth, HealthReporting, HistoryPage } from './broker.ts';

export interface MemoryBrokerOptions {
  /** Updates kept for resume; 0 disables history. */
  historySize: number;
  /** Updates older than this (ms) are dropped from history; 0 = no age limit. */
  historyTtlMs: number;
  now?: () => number;
  /** How long a publish's idempotency key is remembered (ms; 0 = never). */
  idempotencyWindowMs?: number;
}

/**
 * Single-process broker: a bounded ring of recent updates and synchronous fan-out. The
 * reference implementation of the Broker contract.
 */
export class MemoryBroker implements Broker, HealthReporting {
  readonly kind = 'memory' as const;
  readonly #size: number;
  readonly #ttl: number;
  readonly #now: () => number;
  #ring: (Update | undefined)[];
  #head = 0; // index of the oldest entry
  #count = 0;
  #seq = 0;
  // id -> sequence of its first occurrence still retained (Mercure: reused ids resolve to the
  // earliest occurrence), in two generations: ids go into `#ids`; once it holds `size` ids it
  // becomes `#oldIds` and a fresh map starts, so every id still in the ring is in one of them.
  // An entry whose sequence has left the ring reads as absent. Eviction then costs nothing: a
  // Map.delete per publish left tombstones that made V8 rebuild the 20 000-entry table over
  // and over (a tenth of a batch publish's CPU).
  #ids = new Map<string, number>();
  #oldIds = new Map<string, number>();
  #onUpdate: ((u: Update) => void) | undefined;
  #closed = false;
  readonly #recent: RecentAnswers<Pick<Update, 'id' | 'position'>>;

  constructor(options: MemoryBrokerOptions) {
    this.#size = Math.max(0, options.historySize);
    this.#ttl = options.historyTtlMs;
    this.#now = options.now ?? Date.now;
    this.#ring = new Array<Update | undefined>(this.#size);
    this.#recent = new RecentAnswers(options.idempotencyWindowMs ?? 0, 100_000, this.#now);
  }

  async start(onUpdate: (update: Update) => void): Promise<void> {
    this.#onUpdate = onUpdate;
  }

  async publish(inputs: readonly PublishInput[]): Promise<Update[]> {
    if (this.#closed) throw new Error('memory broker is closed');
    const now = this.#now();
    const out: Update[] = [];
    const fresh: Update[] = [];
    for (const input of inputs) {
      const idempotencyKey = input.idempotencyKey;
      const first = this.#recent.get(idempotencyKey);
      if (first) {
        // A retry: answered with the first publish's id and position, as the Redis brokers do.
        out.push({ ...storedUpdate(input, first.id, first.position, now), duplicate: true });
        continue;
      }
      const seq = ++this.#seq;
      const update = storedUpdate(input, input.id ?? generateId(now), String(seq), now);
      this.#append(update, seq, input.id === undefined);
      this.#recent.remember(idempotencyKey, { id: update.id, position: update.position });
      out.push(update);
      fresh.push(update);
    }
    for (const u of fresh) this.#onUpdate?.(u);
    return out;
  }

  /**
   * Keeps a copy of an update another broker sequenced (a `--workers` primary), as history
   * only: nothing is dispatched. Positions must be consecutive whole numbers; after a jump
   * (a worker that missed some) the copy starts over from this update, so a page read here
   * is never missing anything in its range.
   */
  mirror(update: Update): void {
    const seq = Number(update.position);
    if (!Number.isSafeInteger(seq)) return;
    if (seq !== this.#seq + 1) this.#reset();
    this.#seq = seq;
    this.#append(update, seq, false);
  }

  #reset(): void {
    this.#ring = new Array<Update | undefined>(this.#size);
    this.#head = 0;
    this.#count = 0;
    this.#ids = new Map();
    this.#oldIds = new Map();
  }

  /**
   * `generated`: the id is one this broker just made; 74 random bits no publisher could have
   * used before, so it is not looked up (a tenth of a batch publish's time).
   */
  #append(update: Update, seq: number, generated: boolean): void {
    if (this.#size === 0) return;
    if (this.#count === this.#size) this.#evictOldest();
    this.#ring[(this.#head + this.#count) % this.#size] = update;
    this.#count++;
    if (!generated && this.#firstSeq(update.id) !== undefined) return;
    if (this.#ids.size >= this.#size) {
      this.#oldIds = this.#ids;
      this.#ids = new Map();
    }
    this.#ids.set(update.id, seq);
  }

  #evictOldest(): void {
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#size;
    this.#count--;
  }

  /** Sequence of the first retained update with this id, if any is still in the ring. */
  #firstSeq(id: string): number | undefined {
    // `#ids` first: an id there was set while any older entry of it was stale already.
    const seq = this.#ids.get(id) ?? this.#oldIds.get(id);
    // The ring holds the consecutive sequences up to `#seq`.
    return seq !== undefined && seq > this.#seq - this.#count ? seq : undefined;
  }

  #pruneByAge(): void {
    if (this.#ttl <= 0) return;
    const cutoff = this.#now() - this.#ttl;
    while (this.#count > 0 && this.#ring[this.#head]!.publishedAt < cutoff) this.#evictOldest();
  }

  async historyAfter(lastEventId: string, limit: number): Promise<HistoryPage> {
    this.#pruneByAge();
    let after: number;
    if (lastEventId === 'earliest') after = 0;
    else {
      const seq = this.#firstSeq(lastEventId);
      if (seq === undefined) return { found: false, updates: [] };
      after = seq;
    }
    const updates: Update[] = [];
    if (this.#count === 0) return { found: true, updates };
    // The ring holds consecutive sequence numbers from the oldest on: the first update after
    // `after` is found by arithmetic, so a reconnect storm costs what it replays, not the ring size.
    const oldest = Number(this.#ring[this.#head]!.position);
    for (let i = Math.max(0, after - oldest + 1); i < this.#count && updates.length < limit; i++)
      updates.push(this.#ring[(this.#head + i) % this.#size]!);
    const from = after >= oldest ? this.#ring[(this.#head + after - oldest) % this.#size] : undefined;
    return from ? { found: true, updates, from } : { found: true, updates };
  }

  /** Ids the broker indexes for resume (at most twice the history size; tests). */
  get indexedIds(): number {
    return this.#ids.size + this.#oldIds.size;
  }

  health(): BrokerHealth {
    return { kind: 'memory', ready: !this.#closed };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
