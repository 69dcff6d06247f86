/**
 * Answers remembered by idempotency key for a window (the in-process brokers and state
 * store; the Redis ones keep theirs in Redis, in the same script as the write). Bounded: past
 * `maxKeys` the oldest answers are forgotten first, so a flood of keys costs at most that
 * much memory and, at worst, lets a very late retry through.
 */
export class RecentAnswers<T> {
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** Insertion order is expiry order: every entry lives the same window. */
  readonly #answers = new Map<string, { answer: T; expires: number }>();

  constructor(windowMs: number, maxKeys = 100_000, now: () => number = Date.now) {
    this.#windowMs = Math.max(0, windowMs);
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  get enabled(): boolean {
    return this.#windowMs > 0;
  }

  get size(): number {
    return this.#answers.size;
  }

  /** The answer first given to `key`, if within the window. */
  get(key: string | undefined): T | undefined {
    if (key === undefined || !this.enabled) return undefined;
    this.#expire();
    return this.#answers.get(key)?.answer;
  }

  remember(key: string | undefined, answer: T): void {
    if (key === undefined || !this.enabled || this.#answers.has(key)) return;
    this.#expire();
    while (this.#answers.size >= this.#maxKeys) {
      const oldest = this.#answers.keys().next().value;
      if (oldest === undefined) break;
      this.#answers.delete(oldest);
    }
    this.#answers.set(key, { answer, expires: this.#now() + this.#windowMs });
  }

  #expire(): void {
    const now = this.#now();
    for (const [key, { expires }] of this.#answers) {
      if (expires > now) return;
      this.#answers.delete(key);
    }
  }
}
