import { CounterRing, type RateWindow } from './rate-window.ts';

interface Entry {
  count: number;
  /** Sample index of the last update, for recency. */
  lastSeen: number;
  ring: CounterRing;
}

/** One topic's publish activity as the dashboard shows it. */
export interface TopicActivityRow {
  topic: string;
  /** Updates dispatched on this node since the topic entered the list. */
  updates: number;
  /** Those updates per second over the rate window. */
  updatesPerSec: number;
}

/**
 * The topics updates were published to most recently, with a count and a windowed rate each.
 * Bounded: it keeps at most `2 * limit` topics and prunes back to the `limit` most recent when
 * it reaches that, so a stream of one-off topics costs amortised O(log n) per new topic and
 * never grows memory. Recording an update is one map lookup and two field writes.
 */
export class TopicActivity {
  readonly limit: number;
  readonly #window: RateWindow;
  readonly #entries = new Map<string, Entry>();

  constructor(window: RateWindow, limit = 200) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError('topic activity needs a limit of 1 or more');
    this.#window = window;
    this.limit = limit;
  }

  /** Counts one update on `topic`. */
  record(topic: string): void {
    let entry = this.#entries.get(topic);
    if (entry === undefined) {
      if (this.#entries.size >= 2 * this.limit) this.#prune();
      entry = { count: 0, lastSeen: 0, ring: new CounterRing(this.#window) };
      this.#entries.set(topic, entry);
    }
    entry.count++;
    entry.lastSeen = this.#window.taken;
  }

  /** Stores every topic's count at the sample the window just took. */
  sampled(): void {
    for (const entry of this.#entries.values()) entry.ring.store(this.#window, entry.count);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The `limit` most recently active topics, most recent first (busier first within a tick). */
  top(now: number): TopicActivityRow[] {
    return this.#sorted()
      .slice(0, this.limit)
      .map(([topic, e]) => ({
        topic,
        updates: e.count,
        updatesPerSec: e.ring.rate(this.#window, e.count, now),
      }));
  }

  #sorted(): [string, Entry][] {
    return [...this.#entries].sort(
      (a, b) => b[1].lastSeen - a[1].lastSeen || b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1),
    );
  }

  #prune(): void {
    for (const [topic] of this.#sorted().slice(this.limit)) this.#entries.delete(topic);
  }
}
