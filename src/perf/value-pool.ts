import {type Stats, summarize} from '../summary/stats.js'

/**
 * Memory-bounded distribution of one pooled metric (chunk gaps: one value per generated token, so 100 000 requests ×
 * 500 tokens would be 50 M values, 400 MB even as a Float64Array).
 *
 * Exact up to `exactLimit` values (a growing Float64Array; the statistics are then identical to `summarize`). Past it,
 * every value also lives in a log-bucketed quantile sketch (the DDSketch construction): bucket i holds values in
 * (γ^(i−1), γ^i] with γ = (1+α)/(1−α), so any percentile read from it is within a RELATIVE error α of the exact
 * percentile (α = 0.5 % by default), in a fixed ~28 KB whatever the count. count, avg, min, max and stddev stay exact
 * (running sums). Sketches merge by adding bucket counts, so per-worker pools combine without loss.
 *
 * Hand-written (~100 lines) because no installed dependency provides a mergeable relative-error sketch; hdr-histogram-js
 * is only present as autocannon's transitive dependency and works on integers.
 */
export class ValuePool {
  private exact: Float64Array | undefined = new Float64Array(1024)
  private n = 0
  private min = Infinity
  private max = -Infinity
  private mean = 0
  private m2 = 0
  private sketch: LogSketch | undefined

  constructor(
    private readonly exactLimit = DEFAULT_EXACT_LIMIT,
    private readonly alpha = DEFAULT_RELATIVE_ERROR,
  ) {}

  /** Observations so far. */
  get count(): number {
    return this.n
  }

  /** True once the pool has outgrown its exact buffer and percentiles come from the sketch. */
  get approximate(): boolean {
    return this.sketch !== undefined
  }

  add(v: number): void {
    if (!Number.isFinite(v)) return
    this.n++
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
    // Welford: a stable running variance, so stddev stays exact without keeping the values.
    const d = v - this.mean
    this.mean += d / this.n
    this.m2 += d * (v - this.mean)
    if (this.sketch) return this.sketch.add(v)
    const buf = this.exact!
    if (this.n > buf.length) {
      if (this.n > this.exactLimit) return this.spill(v)
      const grown = new Float64Array(Math.min(buf.length * 2, this.exactLimit))
      grown.set(buf)
      this.exact = grown
    }
    this.exact![this.n - 1] = v
  }

  /** Adds the gaps between consecutive entries of `offsets` (a record's chunk arrival offsets) without allocating. */
  addGaps(offsets: ArrayLike<number>): void {
    for (let i = 1; i < offsets.length; i++) this.add(offsets[i] - offsets[i - 1])
  }

  /** Folds `other` into this pool (per-worker pools → one). */
  merge(other: ValuePool): void {
    if (other.n === 0) return
    if (!this.sketch && !other.sketch && this.n + other.n <= this.exactLimit) {
      const values = other.exact!.subarray(0, other.n)
      // Re-adding keeps the exact buffer and the running moments consistent.
      for (let i = 0; i < values.length; i++) this.add(values[i])
      return
    }
    if (!this.sketch) this.toSketch()
    const n = this.n + other.n
    const d = other.mean - this.mean
    this.m2 += other.m2 + (d * d * this.n * other.n) / n
    this.mean += (d * other.n) / n
    this.n = n
    this.min = Math.min(this.min, other.min)
    this.max = Math.max(this.max, other.max)
    if (other.sketch) this.sketch!.merge(other.sketch)
    else for (let i = 0; i < other.n; i++) this.sketch!.add(other.exact![i])
  }

  /** The usual Stats; percentiles exact below the limit, within ±α relative above it. */
  stats(): Stats {
    if (!this.sketch) return summarize(this.exact!.subarray(0, this.n))
    const q = (p: number) => Math.min(this.max, Math.max(this.min, this.sketch!.quantile(p)))
    return {
      count: this.n,
      avg: this.mean,
      p50: q(0.5),
      p90: q(0.9),
      p95: q(0.95),
      p99: q(0.99),
      min: this.min,
      max: this.max,
      stddev: Math.sqrt(this.m2 / this.n),
    }
  }

  private spill(v: number): void {
    this.toSketch()
    this.sketch!.add(v)
  }

  private toSketch(): void {
    this.sketch = new LogSketch(this.alpha)
    const exactCount = Math.min(this.n, this.exact!.length)
    for (let i = 0; i < exactCount; i++) this.sketch.add(this.exact![i])
    this.exact = undefined
  }
}

/** Values kept exactly before switching to the sketch: 1 M (8 MB). */
export const DEFAULT_EXACT_LIMIT = 1 << 20
/** Relative error of sketched percentiles. */
export const DEFAULT_RELATIVE_ERROR = 0.005

/** Below this (ms) a value counts as zero: chunks parsed from one socket read share a stamp, so 0 gaps are common. */
const ZERO_BELOW = 1e-9

/** Log-bucketed counts for positive values, a zero count for the rest (gaps and latencies are never negative). */
class LogSketch {
  private readonly lnGamma: number
  private readonly gamma: number
  private counts = new Map<number, number>()
  private zeros = 0
  private total = 0

  constructor(alpha: number) {
    this.gamma = (1 + alpha) / (1 - alpha)
    this.lnGamma = Math.log(this.gamma)
  }

  add(v: number, times = 1): void {
    this.total += times
    if (v <= ZERO_BELOW) {
      this.zeros += times
      return
    }
    const i = Math.ceil(Math.log(v) / this.lnGamma)
    this.counts.set(i, (this.counts.get(i) ?? 0) + times)
  }

  merge(other: LogSketch): void {
    this.zeros += other.zeros
    this.total += other.total
    for (const [i, c] of other.counts) this.counts.set(i, (this.counts.get(i) ?? 0) + c)
  }

  /** numpy-"linear" percentile: interpolates between the estimates of the two order statistics around rank (n−1)p. */
  quantile(p: number): number {
    const h = (this.total - 1) * p
    const lo = Math.floor(h)
    const a = this.valueAtRank(lo)
    const b = this.valueAtRank(Math.min(lo + 1, this.total - 1))
    return a + (b - a) * (h - lo)
  }

  /** Estimate of the rank-th smallest value (0-based): the bucket's midpoint in relative terms, 2γ^i/(γ+1). */
  private valueAtRank(rank: number): number {
    if (rank < this.zeros) return 0
    let seen = this.zeros
    const keys = [...this.counts.keys()].sort((x, y) => x - y)
    for (const i of keys) {
      seen += this.counts.get(i)!
      if (rank < seen) return (2 * this.gamma ** i) / (this.gamma + 1)
    }
    return (2 * this.gamma ** keys[keys.length - 1]) / (this.gamma + 1)
  }
}
