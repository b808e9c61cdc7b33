/**
 * Pure: turn two readings of the same selector (before/after a request, or round start/end) into the one
 * number we report, according to the metric's type from its `# TYPE` line.
 *
 * - counter: after − before (what happened in between). A decrease means the server restarted or a
 *   series vanished; that is flagged as a reset and reported as null, never as a negative delta.
 * - gauge / untyped: the value after (the caller keeps the value before as well). Untyped is treated as
 *   a gauge because a difference of an unknown quantity (e.g. a hit-rate gauge) is rarely meaningful.
 * - histogram / summary: mean of the observations made in between, Δsum / Δcount (null when none).
 * - ratio A/B: ΔA / ΔB over the same window; both operands must be cumulative (counter or untyped).
 */
import type {MetricType} from './parse.js'
import type {Reading} from './selector.js'

/** One computed value. `reset` is true when a counter went down between the two readings. */
export interface DeltaResult {
  value: number | null
  reset: boolean
  /** Why the value is null, for warnings (absent metric, type changed, no observations, ...). */
  reason?: string
}

/** The value for one metric between two readings; `undefined` readings mean the metric or scrape was missing. */
export function metricDelta(before: Reading | undefined, after: Reading | undefined): DeltaResult {
  if (!after) return {value: null, reset: false, reason: 'absent after'}
  if (after.type === 'gauge' || after.type === 'untyped') return finite(after.value)
  if (!before) return {value: null, reset: false, reason: 'absent before'}
  if (before.type !== after.type) return {value: null, reset: false, reason: `type changed from ${before.type} to ${after.type}`}

  if (after.type === 'counter' && before.type === 'counter') {
    const delta = after.value - before.value
    if (delta < 0) return {value: null, reset: true, reason: 'counter went down (server restart?)'}
    return finite(delta)
  }
  if ((after.type === 'histogram' || after.type === 'summary') && (before.type === 'histogram' || before.type === 'summary')) {
    const count = after.count - before.count
    const sum = after.sum - before.sum
    if (count < 0) return {value: null, reset: true, reason: 'observation count went down (server restart?)'}
    if (count === 0) return {value: null, reset: false, reason: 'no new observations'}
    return finite(sum / count)
  }
  return {value: null, reset: false, reason: 'unsupported type'}
}

/** The plain value of a reading (gauge value, counter total, histogram mean of all observations so far). */
export function readingValue(reading: Reading | undefined): number | null {
  if (!reading) return null
  if ('sum' in reading) return reading.count > 0 ? finite(reading.sum / reading.count).value : null
  return finite(reading.value).value
}

/** ΔA/ΔB between two scrapes. Null when ΔB is 0, an operand is missing or not cumulative, or either reset. */
export function ratioDelta(
  numerator: {before: Reading | undefined; after: Reading | undefined},
  denominator: {before: Reading | undefined; after: Reading | undefined},
): DeltaResult {
  const num = cumulativeDelta(numerator.before, numerator.after)
  const den = cumulativeDelta(denominator.before, denominator.after)
  if (num.reset || den.reset) return {value: null, reset: true, reason: 'counter went down (server restart?)'}
  if (num.value === null) return {value: null, reset: false, reason: `numerator ${num.reason}`}
  if (den.value === null) return {value: null, reset: false, reason: `denominator ${den.reason}`}
  if (den.value === 0) return {value: null, reset: false, reason: 'denominator did not change'}
  return finite(num.value / den.value)
}

/** Types a ratio operand may have: only cumulative values have a meaningful difference. */
export function isCumulative(type: MetricType): boolean {
  return type === 'counter' || type === 'untyped'
}

function cumulativeDelta(before: Reading | undefined, after: Reading | undefined): DeltaResult {
  if (!before || !after) return {value: null, reset: false, reason: 'absent'}
  if ('sum' in before || 'sum' in after) {
    return {value: null, reset: false, reason: `is a ${after.type}; use its _sum or _count`}
  }
  if (!isCumulative(after.type) || !isCumulative(before.type)) {
    return {value: null, reset: false, reason: `is a ${after.type}, not a counter`}
  }
  const delta = after.value - before.value
  if (delta < 0) return {value: null, reset: true, reason: 'went down'}
  return finite(delta)
}

function finite(value: number): DeltaResult {
  return Number.isFinite(value) ? {value, reset: false} : {value: null, reset: false, reason: `not finite (${value})`}
}
