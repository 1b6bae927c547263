// A latency histogram in the style of HdrHistogram: integer microseconds in log-linear buckets (exact
// below 256 µs, then 128 sub-buckets per power of two: every recorded value is within 0.8% of its
// bucket's bound). Fixed size, no allocation per value, so that recording costs the load generator
// nothing measurable.

const SUB = 128;
const LINEAR = 2 * SUB; // values below this are their own bucket
const MAX_EXP = 40; // 2^40 µs ≈ 12.7 days: anything larger is clamped

export class Histogram {
  readonly counts = new Float64Array(LINEAR + (MAX_EXP - 8 + 1) * SUB);
  count = 0;
  max = 0;
  min = Number.POSITIVE_INFINITY;
  sum = 0;

  /** Records one value in µs (rounded; negative values count as 0). */
  record(us: number): void {
    const v = us > 0 ? Math.round(us) : 0;
    this.counts[bucketOf(v)]! += 1;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  /** The value at quantile q (0..1): the upper bound of the bucket holding it, at most the max seen. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperOf(i), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }

  /** Adds another histogram's counts into this one. */
  add(o: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += o.counts[i]!;
    this.count += o.count;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
    if (o.min < this.min) this.min = o.min;
  }
}

/** The bucket of an integer value ≥ 0. */
export function bucketOf(v: number): number {
  if (v < LINEAR) return v;
  // msb ≥ 8; v >> (msb - 7) is in [128, 255].
  let msb = v < 0x80000000 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v));
  if (2 ** msb > v) msb--;
  else if (2 ** (msb + 1) <= v) msb++;
  if (msb > MAX_EXP) return LINEAR + (MAX_EXP - 8 + 1) * SUB - 1;
  const shift = msb - 7;
  const sub = Math.min(2 * SUB - 1, Math.floor(v / 2 ** shift));
  return LINEAR + (msb - 8) * SUB + (sub - SUB);
}

/** The largest value that falls in bucket `i`. */
export function upperOf(i: number): number {
  if (i < LINEAR) return i;
  const k = i - LINEAR;
  const msb = 8 + Math.floor(k / SUB);
  const sub = SUB + (k % SUB);
  return (sub + 1) * 2 ** (msb - 7) - 1;
}
