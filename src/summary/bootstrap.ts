import {createRng} from '../prng.js'
import {quantileSorted} from './stats.js'

/**
 * Percentile-bootstrap confidence intervals, seeded so the same input always gives the same interval.
 *
 * Hand-written: mathjs (the installed maths library) has no resampling, and the npm bootstrap packages are
 * small, unmaintained and unseeded — a run's `overall_summary.json` must not change when it is regenerated.
 * The method is the textbook one (Efron & Tibshirani ch. 13): draw B resamples of size n with replacement,
 * compute the statistic on each, take the α/2 and 1−α/2 quantiles of the B values.
 */

/** A point estimate and its two-sided percentile-bootstrap interval. */
export interface BootstrapCi {
  estimate: number
  low: number
  high: number
  /** e.g. 0.95 */
  confidence: number
  /** Observations the estimate is computed from. */
  n: number
  resamples: number
  seed: number
}

/** Settings of the bootstrap; all optional. */
export interface BootstrapOptions {
  /** Number of resamples B (default 2000). */
  resamples?: number
  /** Two-sided confidence level in (0, 1) (default 0.95). */
  confidence?: number
  /** PRNG seed (default 1): the same data, options and seed give the same interval. */
  seed?: number
}

/** 2000 resamples, 95%, seed 1: enough for stable 2.5%/97.5% quantiles, fast for thousands of pairs. */
export const BOOTSTRAP_DEFAULTS = {resamples: 2000, confidence: 0.95, seed: 1} as const

/**
 * Percentile-bootstrap CI of the *mean* of `values`. Only the mean is offered because it is what the
 * geometric mean needs (the mean of logs) and it avoids a callback per resample on hot data.
 * Null with fewer than 2 values: one value has no sampling spread to resample.
 */
export function bootstrapMeanCi(values: ArrayLike<number>, opts: BootstrapOptions = {}): BootstrapCi | null {
  const n = values.length
  if (n < 2) return null
  const resamples = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples
  const confidence = opts.confidence ?? BOOTSTRAP_DEFAULTS.confidence
  const seed = opts.seed ?? BOOTSTRAP_DEFAULTS.seed
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`resamples must be a positive integer, got ${resamples}`)
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`)

  let total = 0
  for (let i = 0; i < n; i++) total += values[i]
  const rng = createRng(seed)
  const means = new Float64Array(resamples)
  for (let b = 0; b < resamples; b++) {
    let s = 0
    for (let i = 0; i < n; i++) s += values[Math.floor(rng() * n)]
    means[b] = s / n
  }
  means.sort()
  const alpha = 1 - confidence
  return {
    estimate: total / n,
    low: quantileSorted(means, alpha / 2),
    high: quantileSorted(means, 1 - alpha / 2),
    confidence,
    n,
    resamples,
    seed,
  }
}

/**
 * Ratios a[i] / b[i] over the indices where both are finite and positive (a missing sample is NaN and a
 * zero time is not a measurement), in index order.
 */
export function pairedRatios(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const n = Math.min(a.length, b.length)
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const x = a[i]
    const y = b[i]
    if (Number.isFinite(x) && Number.isFinite(y) && x > 0 && y > 0) out.push(x / y)
  }
  return Float64Array.from(out)
}

/**
 * Geometric mean of positive ratios with a percentile-bootstrap CI: the mean of log-ratios is bootstrapped and
 * the estimate and bounds are exponentiated back (exp is monotonic, so percentiles map through it exactly).
 *
 * Why the geometric mean: speed-ups are multiplicative. A 2× speed-up on one sample and a 2× slow-down (0.5×)
 * on another average to 1× geometrically, but to 1.25× arithmetically; and the geometric mean of warm/cold is
 * exactly the reciprocal of that of cold/warm, so the direction of the ratio does not change the answer.
 * It is also a smooth statistic (a mean), which the percentile bootstrap handles well even for small n, where
 * the bootstrap distribution of a median is lumpy.
 */
export function geometricMeanCi(ratios: ArrayLike<number>, opts: BootstrapOptions = {}): BootstrapCi | null {
  const logs = new Float64Array(ratios.length)
  for (let i = 0; i < ratios.length; i++) {
    if (!(ratios[i] > 0 && Number.isFinite(ratios[i]))) throw new RangeError(`ratio ${i} is not a positive number: ${ratios[i]}`)
    logs[i] = Math.log(ratios[i])
  }
  const ci = bootstrapMeanCi(logs, opts)
  return ci && {...ci, estimate: Math.exp(ci.estimate), low: Math.exp(ci.low), high: Math.exp(ci.high)}
}
