/**
 * A log-linear histogram of non-negative integers (microseconds here): exact below 256, then 128
 * sub-buckets per power of two (relative error < 0.8 %). Mergeable and serialisable as sparse
 * [index, count] pairs, so load-generator processes and phase windows can be combined exactly.
 */
const subBits = 7;
const subCount = 1 << subBits;
const linearLimit = subCount * 2;

function indexOf(value: number): number {
  const v = Math.max(0, Math.floor(value));
  if (v < linearLimit) return v;
  const msb = 31 - Math.clz32(Math.min(v, 0x7fffffff));
  const shift = msb - subBits;
  return linearLimit + (shift - 1) * subCount + ((v >>> shift) - subCount);
}

function lowerBoundOf(index: number): number {
  if (index < linearLimit) return index;
  const shift = Math.floor((index - linearLimit) / subCount) + 1;
  const sub = (index - linearLimit) % subCount;
  return (sub + subCount) * 2 ** shift;
}

function midpointOf(index: number): number {
  if (index < linearLimit) return index;
  return (lowerBoundOf(index) + lowerBoundOf(index + 1)) / 2;
}

export type SerializedHistogram = [index: number, count: number][];

export class Histogram {
  private counts = new Map<number, number>();
  total = 0;
  max = 0;
  min = Number.POSITIVE_INFINITY;
  sum = 0;

  record(value: number, count = 1): void {
    const index = indexOf(value);
    this.counts.set(index, (this.counts.get(index) ?? 0) + count);
    this.total += count;
    this.sum += value * count;
    if (value > this.max) this.max = value;
    if (value < this.min) this.min = value;
  }

  merge(other: Histogram): void {
    for (const [index, count] of other.counts)
      this.counts.set(index, (this.counts.get(index) ?? 0) + count);
    this.total += other.total;
    this.sum += other.sum;
    this.max = Math.max(this.max, other.max);
    this.min = Math.min(this.min, other.min);
  }

  /** The value at quantile q (0..1); the bucket midpoint, clamped to the observed max. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) ?? 0;
      if (seen >= rank) return Math.min(midpointOf(index), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.total === 0 ? Number.NaN : this.sum / this.total;
  }

  /** Cumulative distribution points (value, fraction ≤ value) for charts. */
  cdf(): { value: number; fraction: number }[] {
    const points: { value: number; fraction: number }[] = [];
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) ?? 0;
      points.push({ value: Math.min(midpointOf(index), this.max), fraction: seen / this.total });
    }
    return points;
  }

  serialize(): {
    buckets: SerializedHistogram;
    total: number;
    max: number;
    min: number;
    sum: number;
  } {
    return {
      buckets: [...this.counts],
      total: this.total,
      max: this.max,
      min: this.min,
      sum: this.sum,
    };
  }

  static from(data: {
    buckets: SerializedHistogram;
    total: number;
    max: number;
    min: number;
    sum: number;
  }): Histogram {
    const h = new Histogram();
    for (const [index, count] of data.buckets) h.counts.set(index, count);
    h.total = data.total;
    h.max = data.max;
    h.min = data.min === null ? Number.POSITIVE_INFINITY : data.min;
    h.sum = data.sum;
    return h;
  }

  /** Counts added since `earlier` (a snapshot of this same cumulative histogram). */
  static difference(later: Histogram, earlier: Histogram): Histogram {
    const h = new Histogram();
    for (const [index, count] of later.counts) {
      const d = count - (earlier.counts.get(index) ?? 0);
      if (d > 0) {
        h.counts.set(index, d);
        h.total += d;
        h.sum += midpointOf(index) * d;
        h.max = Math.max(h.max, lowerBoundOf(index + 1) - 1);
        h.min = Math.min(h.min, lowerBoundOf(index));
      }
    }
    return h;
  }
}

/** p50/p90/p99/p99.9/max of a latency histogram in microseconds, as milliseconds. */
export function latencySummaryMs(h: Histogram): {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
} {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.total,
    p50: ms(h.quantile(0.5)),
    p90: ms(h.quantile(0.9)),
    p99: ms(h.quantile(0.99)),
    p999: ms(h.quantile(0.999)),
    max: ms(h.max),
    mean: ms(h.mean()),
  };
}
