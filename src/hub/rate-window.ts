/**
 * Rates over a sliding window of the last few samples (one sample per stats tick). Counting
 * each 1 s tick on its own makes a steady 2 updates/s read 2, 3, 2, 3... whenever the
 * publisher's clock and the tick's drift apart; over 5 s it reads 2.
 *
 * The window keeps the time of each of its last `size + 1` samples; a counter keeps its value
 * at each of them in a `CounterRing` of the same length, so a rate is
 * `(value now - value at the oldest sample) / (time since the oldest sample)`.
 */
export class RateWindow {
  readonly size: number;
  readonly #times: number[];
  #taken = 0;

  /** `size`: how many samples back a rate reaches (5 samples at 1 s = a 5 s window). */
  constructor(size = 5, startedAt = Date.now()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('a rate window needs at least one sample');
    this.size = size;
    this.#times = new Array<number>(size + 1).fill(startedAt);
    // Every counter reads 0 at this first sample, so the first rates cover the time since start.
    this.sample(startedAt);
  }

  /** Samples taken so far; a counter stores its value at slot `slot(taken - 1)` after a sample. */
  get taken(): number {
    return this.#taken;
  }

  slot(sample: number): number {
    return sample % this.#times.length;
  }

  /** Records a sample time; call each counter's `store` right after. */
  sample(now: number): void {
    this.#times[this.slot(this.#taken)] = now;
    this.#taken++;
  }

  /** Index of the oldest sample still in the window (0 before the window has filled). */
  get oldest(): number {
    return Math.max(0, this.#taken - this.#times.length);
  }

  /** Seconds between the oldest sample in the window and `now` (what a rate is divided by). */
  seconds(now: number): number {
    return Math.max(1, now - this.#times[this.slot(this.oldest)]!) / 1000;
  }

  /** Per-second rate of a counter that read `base` at the oldest sample and reads `value` now. */
  rate(value: number, base: number, now: number): number {
    return Math.max(0, value - base) / this.seconds(now);
  }
}

/** A counter's value at each sample of a `RateWindow`. */
export class CounterRing {
  readonly #values: Float64Array;
  /** First sample this counter stores; it read 0 at every earlier one. */
  readonly #since: number;

  constructor(window: RateWindow) {
    this.#values = new Float64Array(window.size + 1);
    this.#since = window.taken;
  }

  /** Stores the value at the sample just taken. */
  store(window: RateWindow, value: number): void {
    this.#values[window.slot(window.taken - 1)] = value;
  }

  /** The value at the window's oldest sample (0 if the counter did not exist yet). */
  base(window: RateWindow): number {
    const oldest = window.oldest;
    if (oldest < this.#since) return 0;
    return this.#values[window.slot(oldest)]!;
  }

  rate(window: RateWindow, value: number, now: number): number {
    return window.rate(value, this.base(window), now);
  }
}
