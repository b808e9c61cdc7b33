/**
 * Distribution statistics over one metric. Percentiles use linear interpolation between closest ranks
 * (numpy's default "linear" method, the same as mathjs `quantileSeq`, which the unit tests use as the oracle);
 * Stddev is the population standard deviation (numpy's default ddof=0, as vLLM's benchmark reports it).
 *
 * Hand-written over a sorted Float64Array rather than calling mathjs at run time: measured here, mathjs costs
 * ~300 ms to import and is ~10× slower on 100 k values, and pooled chunk gaps can reach millions of values.
 */
export interface Stats {
  count: number
  avg: number | null
  p50: number | null
  p90: number | null
  p95: number | null
  p99: number | null
  min: number | null
  max: number | null
  stddev: number | null
}

/** The stats every table, CSV block and JSON summary shows, in display order. */
export const STAT_KEYS = ['avg', 'p50', 'p90', 'p95', 'p99', 'min', 'max', 'stddev'] as const
export type StatKey = (typeof STAT_KEYS)[number]

/** Percentile p ∈ [0, 1] of an ascending-sorted array, linear interpolation. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const h = (n - 1) * p
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, n - 1)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo)
}

/** Summarise a set of observations; `undefined`/`null`/NaN entries are not observations and are skipped. */
export function summarize(values: Iterable<number | null | undefined>): Stats {
  const buf: number[] = []
  for (const v of values) if (v !== undefined && v !== null && !Number.isNaN(v)) buf.push(v)
  const n = buf.length
  if (n === 0) return {count: 0, avg: null, p50: null, p90: null, p95: null, p99: null, min: null, max: null, stddev: null}
  const sorted = Float64Array.from(buf).sort()
  let sum = 0
  for (let i = 0; i < n; i++) sum += sorted[i]
  const avg = sum / n
  let sq = 0
  for (let i = 0; i < n; i++) sq += (sorted[i] - avg) ** 2
  return {
    count: n,
    avg,
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    min: sorted[0],
    max: sorted[n - 1],
    stddev: Math.sqrt(sq / n),
  }
}
