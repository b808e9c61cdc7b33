import {inputError} from '../errors.js'
import {lineOf, where} from './yaml-lines.js'

/**
 * Run-level targets (seed 004's "测试目标" table): bounds on the aggregates of each (level, round), checked
 * after the run with PASS/FAIL. The keys follow one small grammar instead of a fixed list:
 *
 * - `p<NN>_<metric>_ms` and `avg_<metric>_ms`: an upper bound in ms on a distribution statistic,
 *   NN ∈ 50, 90, 95, 99 (the percentiles every round summary computes), metric ∈ ttft, itl, latency,
 *   chunk_gap (vLLM's tpot and e2el are accepted as itl and latency, as in `slo:`);
 * - `min_request_throughput` (requests/s), `min_output_throughput` (output tokens/s),
 *   `min_goodput_rps` (SLO-met requests/s), `min_goodput_tps` (SLO-met output tokens/s),
 *   `min_goodput_ratio` (SLO-met share of requests, 0–1): lower bounds;
 * - `max_error_rate` (failed share of requests, 0–1): an upper bound;
 * - filters: `rounds: [2]` and `concurrency: [8, 16]` restrict which (level, round) the targets apply to
 *   (default: all).
 *
 * Bounds are inclusive ("at most" / "at least"), as the names min_/max_ say. (The per-request `slo:` bounds are
 * strict, value < bound, as the seed's SLO rule says; the two are different things.)
 */

/** Metrics a time target may bound (the `slo:` aliases tpot/e2el map onto itl/latency). */
export type TargetMetric = 'ttft' | 'itl' | 'latency' | 'chunk_gap'
/** Statistics every round summary computes, hence the only ones a target may name. */
export type TargetStat = 'avg' | 'p50' | 'p90' | 'p95' | 'p99'

/** What a target bounds. */
export type TargetMeasure =
  | {kind: 'distribution'; metric: TargetMetric; stat: TargetStat}
  | {kind: 'request_throughput' | 'output_throughput' | 'error_rate' | 'goodput_ratio' | 'goodput_rps' | 'goodput_tps'}

/** Unit of a bound, for display. */
export type TargetUnit = 'ms' | 'req/s' | 'tok/s' | 'fraction'

/** One parsed target. */
export interface Target {
  /** The key as written in the file (shown in the results table). */
  key: string
  measure: TargetMeasure
  bound: number
  /** at_most: pass when actual ≤ bound; at_least: actual ≥ bound. */
  direction: 'at_most' | 'at_least'
  unit: TargetUnit
}

/** The parsed `targets:` map. */
export interface Targets {
  targets: Target[]
  /** Rounds the targets apply to; null = every round. */
  rounds: number[] | null
  /** Concurrency levels the targets apply to; null = every level. */
  concurrency: number[] | null
}

const METRICS: Record<string, TargetMetric> = {ttft: 'ttft', itl: 'itl', latency: 'latency', chunk_gap: 'chunk_gap', tpot: 'itl', e2el: 'latency'}
const STATS: TargetStat[] = ['p50', 'p90', 'p95', 'p99', 'avg']

const AGGREGATES: Record<string, Omit<Target, 'key' | 'bound'>> = {
  min_request_throughput: {measure: {kind: 'request_throughput'}, direction: 'at_least', unit: 'req/s'},
  min_output_throughput: {measure: {kind: 'output_throughput'}, direction: 'at_least', unit: 'tok/s'},
  max_error_rate: {measure: {kind: 'error_rate'}, direction: 'at_most', unit: 'fraction'},
  min_goodput_ratio: {measure: {kind: 'goodput_ratio'}, direction: 'at_least', unit: 'fraction'},
  min_goodput_rps: {measure: {kind: 'goodput_rps'}, direction: 'at_least', unit: 'req/s'},
  min_goodput_tps: {measure: {kind: 'goodput_tps'}, direction: 'at_least', unit: 'tok/s'},
}
const GOODPUT_KINDS = new Set(['goodput_ratio', 'goodput_rps', 'goodput_tps'])
const FILTERS = ['rounds', 'concurrency']

/** The grammar in one line, for error messages and help. */
export const TARGET_GRAMMAR =
  'Target keys: p50|p90|p95|p99|avg + _ttft|_itl|_latency|_chunk_gap + _ms (upper bounds in ms), ' +
  `${Object.keys(AGGREGATES).join(', ')}; filters: rounds: [2], concurrency: [8, 16].`

/** A valid `targets:` block, shown with validation errors. */
export const TARGETS_EXAMPLE =
  'Expected e.g.\n  targets:\n    p99_latency_ms: 1500\n    p90_ttft_ms: 800\n    min_request_throughput: 10\n    max_error_rate: 0.01\n    rounds: [2]'

/** A stable identity of what a key measures, to catch the same target given twice under aliases. */
const identity = (m: TargetMeasure) => (m.kind === 'distribution' ? `${m.stat}_${m.metric}` : m.kind)

/** Pure: what a target key means, or why it is not a target key. */
export function parseTargetKey(key: string): Omit<Target, 'key' | 'bound'> | {error: string} {
  const aggregate = AGGREGATES[key]
  if (aggregate) return aggregate
  const m = /^(p\d+(?:\.\d+)?|avg)_([a-z0-9_]+?)(_ms)?$/.exec(key)
  if (!m) return {error: `unknown target "${key}"`}
  const [, stat, metricName, ms] = m
  const metric = METRICS[metricName]
  if (!metric) return {error: `"${key}": unknown metric "${metricName}" (available: ${Object.keys(METRICS).join(', ')})`}
  if (!STATS.includes(stat as TargetStat)) {
    return {error: `"${key}": ${stat} is not computed (available: ${STATS.join(', ')})`}
  }
  if (!ms) return {error: `"${key}": time targets end in _ms — write "${key}_ms"`}
  return {measure: {kind: 'distribution', metric, stat: stat as TargetStat}, direction: 'at_most', unit: 'ms'}
}

function parseFilter(name: string, value: unknown, at: string): number[] {
  const list = typeof value === 'number' ? [value] : value
  const example = name === 'rounds' ? 'rounds: [2]   # round 2 (warm) only' : 'concurrency: [8, 16]'
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => Number.isInteger(x) && x >= 1)) {
    throw inputError(`${at}: targets.${name} must be a list of whole numbers ≥ 1, got ${JSON.stringify(value)}`, `Example: ${example}`)
  }
  if (name === 'rounds' && list.some((x) => x > 2)) {
    throw inputError(`${at}: targets.rounds lists ${JSON.stringify(list)}, but a run has rounds 1 (cold) and 2 (warm) only`, `Example: ${example}`)
  }
  return [...new Set(list as number[])].sort((a, b) => a - b)
}

function checkBound(key: string, spec: Omit<Target, 'key' | 'bound'>, value: unknown, at: string): number {
  const got = JSON.stringify(value)
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw inputError(`${at}: target "${key}" must be a number, got ${got}`, TARGETS_EXAMPLE)
  }
  if (spec.unit === 'fraction') {
    if (value < 0 || value > 1) {
      const hint = value > 1 && value <= 100 ? `Write a fraction: ${value}% is ${key}: ${value / 100}` : `Example: ${key}: 0.01`
      throw inputError(`${at}: target "${key}" is a fraction between 0 and 1, got ${got}`, hint)
    }
  } else if (!(value > 0)) {
    const what = spec.unit === 'ms' ? 'a positive number of milliseconds' : `a positive number (${spec.unit})`
    throw inputError(`${at}: target "${key}" must be ${what}, got ${got}`, TARGETS_EXAMPLE)
  }
  return value
}

/**
 * Validate the `targets:` map of an SLO file. Pure: `text` and `file` only serve messages.
 * `hasSlo`: goodput targets need the file's `slo:` map. Throws inputError (exit 2) naming file:line.
 */
export function parseTargets(value: unknown, text: string, file: string, hasSlo: boolean): Targets {
  const targetsLine = lineOf(text, 'targets')
  const at = (key: string) => where(text, file, key, targetsLine)
  const top = targetsLine ? `${file}:${targetsLine}` : file
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw inputError(`${top}: \`targets:\` must be a map of target: bound, got ${JSON.stringify(value ?? null)}`, TARGETS_EXAMPLE)
  }
  const out: Targets = {targets: [], rounds: null, concurrency: null}
  const seen = new Map<string, string>()
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'rounds' || key === 'concurrency') {
      out[key] = parseFilter(key, v, at(key))
      continue
    }
    const spec = parseTargetKey(key)
    if ('error' in spec) throw inputError(`${at(key)}: ${spec.error}`, TARGET_GRAMMAR, TARGETS_EXAMPLE)
    if (GOODPUT_KINDS.has(spec.measure.kind) && !hasSlo) {
      throw inputError(
        `${at(key)}: target "${key}" needs an \`slo:\` map in the same file (goodput counts the requests that meet it)`,
        'Add e.g.\n  slo:\n    ttft_ms: 1000',
      )
    }
    const id = identity(spec.measure)
    const earlier = seen.get(id)
    if (earlier !== undefined) {
      throw inputError(`${at(key)}: "${key}" bounds the same value as "${earlier}" (aliases: tpot = itl, e2el = latency)`, 'Keep one of them.')
    }
    seen.set(id, key)
    out.targets.push({key, ...spec, bound: checkBound(key, spec, v, at(key))})
  }
  if (out.targets.length === 0) {
    const filtersOnly = Object.keys(value).some((k) => FILTERS.includes(k))
    throw inputError(`${top}: the \`targets:\` map is empty${filtersOnly ? ' (it only has filters)' : ''}`, TARGETS_EXAMPLE)
  }
  return out
}
