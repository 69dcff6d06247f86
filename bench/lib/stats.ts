/** Small statistics helpers shared by the load generator and the report. */

/** Median of a list, or NaN when empty. */
export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

// Log-bucketed latency histogram: 2 % relative precision from 10 µs to ~100 s in ~820 buckets,
// so workers can merge histograms by adding arrays instead of shipping every sample.
const MIN_MS = 0.01;
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
export const HISTOGRAM_BUCKETS = 820;

/** Latency histogram in milliseconds; mergeable across processes. */
export class Histogram {
  readonly counts: number[];
  count = 0;
  max = 0;

  constructor(counts?: readonly number[], count = 0, max = 0) {
    this.counts = counts ? [...counts] : new Array<number>(HISTOGRAM_BUCKETS).fill(0);
    this.count = count;
    this.max = max;
  }

  record(ms: number): void {
    const v = ms < MIN_MS ? MIN_MS : ms;
    let i = Math.ceil(Math.log(v / MIN_MS) / LOG_GROWTH);
    if (i >= HISTOGRAM_BUCKETS) i = HISTOGRAM_BUCKETS - 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  merge(other: HistogramJson): void {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      this.counts[i] = (this.counts[i] as number) + (other.counts[i] ?? 0);
    }
    this.count += other.count;
    if (other.max > this.max) this.max = other.max;
  }

  /** Upper edge of the bucket holding quantile q (0..1), in ms; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i] as number;
      if (seen >= target) return Math.min(MIN_MS * GROWTH ** i, this.max);
    }
    return this.max;
  }

  toJSON(): HistogramJson {
    return { counts: this.counts, count: this.count, max: this.max };
  }
}

export interface HistogramJson {
  counts: number[];
  count: number;
  max: number;
}
