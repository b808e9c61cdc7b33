import type {RequestRecord} from '../record/record.js'
import {ttftMs} from '../record/derive.js'
import {type BootstrapOptions, BOOTSTRAP_DEFAULTS, geometricMeanCi, pairedRatios} from './bootstrap.js'
import {cacheEffect, type RoundSummary} from './round-summary.js'

/**
 * The run-wide summary (`overall_summary.json` and the last lines the run prints): best throughput and goodput,
 * the saturation level, error rates and the cold→warm cache speed-up of every level. Pure.
 */

/** Thresholds of the saturation rule, as fractions. */
export interface SaturationThresholds {
  /** Throughput "stops growing": it grew by at most this over the previous level (0.05 = 5%). */
  throughputGrowth: number
  /** …while P99 latency grew by more than this (0.5 = 50%). */
  latencyGrowth: number
  /** Or the level's error rate exceeds this (0.01 = 1%). */
  errorRate: number
}

/** The issue's thresholds: +5% throughput, +50% P99 latency, 1% errors. */
export const SATURATION_DEFAULTS: SaturationThresholds = {throughputGrowth: 0.05, latencyGrowth: 0.5, errorRate: 0.01}

const pctText = (x: number) => `${+(100 * x).toFixed(4)}%`

/** The saturation rule in words, for the JSON, the terminal and the README. */
export function saturationRuleText(t: SaturationThresholds = SATURATION_DEFAULTS): string {
  return (
    'Computed for each round separately (round 1 = cold, round 2 = warm), over the levels sorted by concurrency: ' +
    `the saturation level is the first level whose error rate (failed / sent requests) exceeds ${pctText(t.errorRate)}, ` +
    `or whose request throughput grew by no more than ${pctText(t.throughputGrowth)} over the previous level ` +
    `while its P99 latency grew by more than ${pctText(t.latencyGrowth)}. Null (not reached) when no level qualifies.`
  )
}

/** The rule with the default thresholds (quoted by the README). */
export const SATURATION_RULE = saturationRuleText()

/** How the paired cache speed-up is computed, for the given bootstrap settings (written to the JSON). */
export function pairedSpeedupMethodText(b: BootstrapOptions = {}): string {
  const {resamples, confidence, seed} = {...BOOTSTRAP_DEFAULTS, ...b}
  return (
    'Paired TTFT speed-up: for every sample index measured successfully in both rounds of a level, the ratio ' +
    'round-1 TTFT / round-2 TTFT; the statistic is the geometric mean of these ratios (ratios are multiplicative: ' +
    `2× and 0.5× cancel to 1×), with a ${+(100 * confidence).toFixed(4)}% percentile-bootstrap confidence interval ` +
    `(${resamples} resamples of the log-ratios, seed ${seed}, so the same data always gives the same interval).`
  )
}

/** The method text with the default settings (quoted by the README). */
export const PAIRED_SPEEDUP_METHOD = pairedSpeedupMethodText()

/** One level as the run collected it. */
export interface OverallLevelInput {
  concurrency: number
  rounds: RoundSummary[]
  /**
   * Optional, aligned with `rounds` (ttftByIndex[i] belongs to rounds[i]): TTFT in ms per sample index, NaN when
   * the sample has no TTFT (failed or not measured). Build it with {@link ttftBySampleIndex}. Needed for the
   * paired speed-up and its confidence interval.
   */
  ttftByIndex?: Float64Array[]
}

/** Overrides of the saturation thresholds and the bootstrap settings (defaults: the documented ones). */
export interface OverallOptions {
  saturation?: Partial<SaturationThresholds>
  bootstrap?: BootstrapOptions
}

/** One round of one level, reduced to what the overall view compares. */
export interface OverallRound {
  round: number
  total_requests: number
  failed_requests: number
  /** failed / total requests; 0 when nothing was sent. */
  error_rate: number
  requests_per_s: number
  output_tokens_per_s: number
  latency_p99_ms: number | null
  /** Null when no SLO was given. */
  goodput_requests_per_s: number | null
  goodput_tokens_per_s: number | null
  complete: boolean
}

/** Geometric mean of the paired per-sample TTFT ratios with its percentile-bootstrap CI. */
export interface PairedSpeedup {
  statistic: 'geometric_mean'
  /** Geometric mean of round-1 / round-2 TTFT over the pairs (× faster when warm). */
  ratio: number
  ci_low: number
  ci_high: number
  confidence: number
  pairs: number
  resamples: number
  seed: number
}

/** Cold→warm speed-up of one level. */
export interface LevelCacheSpeedup {
  /** Round-1 / round-2 of the TTFT P50 and average (as summary/round-summary.ts `cacheEffect`). */
  ttft_p50_speedup: number | null
  ttft_avg_speedup: number | null
  round1_cached_share: number | null
  round2_cached_share: number | null
  /** Null without per-sample TTFTs or with fewer than 2 pairs. */
  paired: PairedSpeedup | null
}

/** One level: its rounds and cache speed-up. */
export interface OverallLevel {
  concurrency: number
  rounds: OverallRound[]
  /** Null unless the level has both round 1 and round 2. */
  cache_speedup: LevelCacheSpeedup | null
}

/** Which part of the saturation rule fired. */
export type SaturationTrigger = 'error_rate' | 'throughput_plateau'

/** The saturation level of one round, with the numbers that triggered it. */
export interface RoundSaturation {
  round: number
  /** The saturation level; null when not reached. */
  concurrency: number | null
  /** Which parts of the rule fired at that level (both may). Empty when not reached. */
  triggers: SaturationTrigger[]
  /** The level compared against (the previous one with this round); null for the first level or when not reached. */
  previous_concurrency: number | null
  /** Relative changes vs the previous level at the saturation level, e.g. 0.02 = +2%. */
  throughput_growth: number | null
  latency_p99_growth: number | null
  error_rate: number | null
}

/** `overall_summary.json` (after {@link overallSummaryJson} rounding). */
export interface OverallSummary {
  concurrency_levels: number[]
  rounds: number[]
  best_request_throughput: {requests_per_s: number; concurrency: number; round: number} | null
  /** Seed 001's key: the concurrency of the best request throughput. */
  best_qps_at_concurrency: number | null
  best_output_throughput: {tokens_per_s: number; concurrency: number; round: number} | null
  /** Highest SLO-met requests/s (ties: more SLO-met tokens/s); null without an SLO. */
  best_goodput: {requests_per_s: number; tokens_per_s: number; concurrency: number; round: number} | null
  saturation: {rule: string; thresholds: SaturationThresholds; by_round: RoundSaturation[]}
  cache_speedup_method: string
  levels: OverallLevel[]
}

/** Pure: per sample index, the TTFT of that request in ms (NaN when failed/missing). `size` defaults to max index + 1. */
export function ttftBySampleIndex(records: readonly RequestRecord[], size?: number): Float64Array {
  let n = size ?? 0
  if (size === undefined) for (const r of records) n = Math.max(n, r.index + 1)
  const out = new Float64Array(n).fill(Number.NaN)
  for (const r of records) {
    const t = ttftMs(r)
    if (t !== undefined && r.index >= 0 && r.index < n) out[r.index] = t
  }
  return out
}

function reduceRound(s: RoundSummary): OverallRound {
  return {
    round: s.round,
    total_requests: s.total_requests,
    failed_requests: s.failed_requests,
    error_rate: s.total_requests > 0 ? s.failed_requests / s.total_requests : 0,
    requests_per_s: s.throughput.requests_per_s,
    output_tokens_per_s: s.throughput.output_tokens_per_s,
    latency_p99_ms: s.distributions.latency.p99,
    goodput_requests_per_s: s.goodput ? s.goodput.requests_per_s : null,
    goodput_tokens_per_s: s.goodput ? s.goodput.tokens_per_s : null,
    complete: s.complete,
  }
}

function levelSpeedup(level: OverallLevelInput, bootstrap: BootstrapOptions): LevelCacheSpeedup | null {
  const i1 = level.rounds.findIndex((s) => s.round === 1)
  const i2 = level.rounds.findIndex((s) => s.round === 2)
  if (i1 === -1 || i2 === -1) return null
  const effect = cacheEffect(level.rounds[i1], level.rounds[i2])
  let paired: PairedSpeedup | null = null
  const t1 = level.ttftByIndex?.[i1]
  const t2 = level.ttftByIndex?.[i2]
  if (t1 && t2) {
    const ci = geometricMeanCi(pairedRatios(t1, t2), bootstrap)
    if (ci) {
      paired = {statistic: 'geometric_mean', ratio: ci.estimate, ci_low: ci.low, ci_high: ci.high, confidence: ci.confidence, pairs: ci.n, resamples: ci.resamples, seed: ci.seed}
    }
  }
  return {
    ttft_p50_speedup: effect.ttft_p50_speedup,
    ttft_avg_speedup: effect.ttft_avg_speedup,
    round1_cached_share: effect.round1_cached_share,
    round2_cached_share: effect.round2_cached_share,
    paired,
  }
}

/** The saturation rule applied to one round's levels (ascending concurrency). Exported for tests and the report. */
export function findSaturation(round: number, levels: {concurrency: number; round: OverallRound}[], t: SaturationThresholds): RoundSaturation {
  let prev: {concurrency: number; round: OverallRound} | undefined
  for (const cur of levels) {
    // A round with nothing sent has no throughput or error rate to judge.
    if (cur.round.total_requests === 0) continue
    const triggers: SaturationTrigger[] = []
    let throughputGrowth: number | null = null
    let latencyGrowth: number | null = null
    if (cur.round.error_rate > t.errorRate) triggers.push('error_rate')
    if (prev) {
      const p = prev.round
      if (p.requests_per_s > 0) throughputGrowth = cur.round.requests_per_s / p.requests_per_s - 1
      if (p.latency_p99_ms !== null && p.latency_p99_ms > 0 && cur.round.latency_p99_ms !== null) {
        latencyGrowth = cur.round.latency_p99_ms / p.latency_p99_ms - 1
      }
      // Compared multiplicatively (not via the growth fractions) so a boundary case such as 20 → 21 req/s is
      // exactly +5% and does not trip over float rounding of 21 / 20 − 1.
      const plateau = p.requests_per_s > 0 && cur.round.requests_per_s <= p.requests_per_s * (1 + t.throughputGrowth)
      const latencyJump = latencyGrowth !== null && cur.round.latency_p99_ms! > p.latency_p99_ms! * (1 + t.latencyGrowth)
      if (plateau && latencyJump) {
        triggers.push('throughput_plateau')
      }
    }
    if (triggers.length > 0) {
      return {
        round,
        concurrency: cur.concurrency,
        triggers,
        previous_concurrency: prev?.concurrency ?? null,
        throughput_growth: throughputGrowth,
        latency_p99_growth: latencyGrowth,
        error_rate: cur.round.error_rate,
      }
    }
    prev = cur
  }
  return {round, concurrency: null, triggers: [], previous_concurrency: null, throughput_growth: null, latency_p99_growth: null, error_rate: null}
}

/**
 * Pure: the overall summary of a run. Levels and rounds may come in any order; they are sorted by concurrency
 * and round. Ties for "best" keep the lowest concurrency, then the earliest round (the cheaper setting).
 * Saturation: see {@link saturationRuleText} — computed per round because cold and warm rounds are different
 * workloads (prefill-bound vs cache-served) and the cache usually moves the saturation point; that shift is a
 * result worth showing rather than merging away.
 */
export function overallSummary(levels: OverallLevelInput[], opts: OverallOptions = {}): OverallSummary {
  const thresholds = {...SATURATION_DEFAULTS, ...opts.saturation}
  const bootstrap = {...BOOTSTRAP_DEFAULTS, ...opts.bootstrap}
  const sorted = [...levels].sort((a, b) => a.concurrency - b.concurrency)
  const out: OverallLevel[] = sorted.map((level) => ({
    concurrency: level.concurrency,
    rounds: level.rounds.map(reduceRound).sort((a, b) => a.round - b.round),
    cache_speedup: levelSpeedup(level, bootstrap),
  }))
  const roundNumbers = [...new Set(out.flatMap((l) => l.rounds.map((r) => r.round)))].sort((a, b) => a - b)

  let bestRps: OverallSummary['best_request_throughput'] = null
  let bestTps: OverallSummary['best_output_throughput'] = null
  let bestGood: OverallSummary['best_goodput'] = null
  for (const level of out) {
    for (const r of level.rounds) {
      const at = {concurrency: level.concurrency, round: r.round}
      if (!bestRps || r.requests_per_s > bestRps.requests_per_s) bestRps = {requests_per_s: r.requests_per_s, ...at}
      if (!bestTps || r.output_tokens_per_s > bestTps.tokens_per_s) bestTps = {tokens_per_s: r.output_tokens_per_s, ...at}
      if (r.goodput_requests_per_s !== null && r.goodput_tokens_per_s !== null) {
        const better =
          !bestGood ||
          r.goodput_requests_per_s > bestGood.requests_per_s ||
          (r.goodput_requests_per_s === bestGood.requests_per_s && r.goodput_tokens_per_s > bestGood.tokens_per_s)
        if (better) bestGood = {requests_per_s: r.goodput_requests_per_s, tokens_per_s: r.goodput_tokens_per_s, ...at}
      }
    }
  }

  const byRound = roundNumbers.map((round) =>
    findSaturation(
      round,
      out.flatMap((l) => {
        const r = l.rounds.find((x) => x.round === round)
        return r ? [{concurrency: l.concurrency, round: r}] : []
      }),
      thresholds,
    ),
  )

  return {
    concurrency_levels: out.map((l) => l.concurrency),
    rounds: roundNumbers,
    best_request_throughput: bestRps,
    best_qps_at_concurrency: bestRps?.concurrency ?? null,
    best_output_throughput: bestTps,
    best_goodput: bestGood,
    saturation: {rule: saturationRuleText(thresholds), thresholds, by_round: byRound},
    cache_speedup_method: pairedSpeedupMethodText(bootstrap),
    levels: out,
  }
}

/**
 * Pure: the summary as written to `overall_summary.json` — every number rounded to 6 decimals to drop float
 * noise while keeping small error rates (a 3-decimal rounding would turn 0.04% into 0).
 */
export function overallSummaryJson(o: OverallSummary): unknown {
  const round = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null
    if (Array.isArray(v)) return v.map(round)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]))
    return v
  }
  return round(o)
}

const num = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits))
const times = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}×`)
const signedPct = (x: number | null) => (x === null ? '?' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`)
const roundName = (r: number) => (r === 1 ? 'round 1 (cold)' : r === 2 ? 'round 2 (warm)' : `round ${r}`)

function saturationText(s: RoundSaturation): string {
  if (s.concurrency === null) return `${roundName(s.round)}: not reached`
  const why: string[] = []
  if (s.triggers.includes('error_rate')) why.push(`error rate ${(100 * s.error_rate!).toFixed(1)}%`)
  if (s.triggers.includes('throughput_plateau')) {
    why.push(`requests/s ${signedPct(s.throughput_growth)} while P99 latency ${signedPct(s.latency_p99_growth)} vs concurrency ${s.previous_concurrency}`)
  }
  return `${roundName(s.round)}: concurrency ${s.concurrency} (${why.join('; ')})`
}

/** Pure: a short terminal rendering — headline lines, then one row per level. */
export function renderOverall(o: OverallSummary): string {
  const lines: string[] = [`Overall (concurrency ${o.concurrency_levels.join(', ') || '-'}):`]
  const b = o.best_request_throughput
  lines.push(`  Best request throughput: ${b ? `${num(b.requests_per_s)} req/s at concurrency ${b.concurrency}, ${roundName(b.round)}` : '-'}`)
  const t = o.best_output_throughput
  if (t) lines.push(`  Best output throughput:  ${num(t.tokens_per_s, 1)} tok/s at concurrency ${t.concurrency}, ${roundName(t.round)}`)
  const g = o.best_goodput
  lines.push(
    `  Best goodput:            ${g ? `${num(g.requests_per_s)} req/s, ${num(g.tokens_per_s, 1)} tok/s at concurrency ${g.concurrency}, ${roundName(g.round)}` : 'no SLO given'}`,
  )
  lines.push(`  Saturation: ${o.saturation.by_round.map(saturationText).join('; ') || '-'}`)

  const header = ['Concurrency', ...o.rounds.flatMap((r) => [`Req/s R${r}`, `Errors R${r}`]), 'TTFT P50 ×', 'TTFT avg ×', 'Paired TTFT × [CI]']
  const rows = o.levels.map((l) => {
    const cells = [String(l.concurrency)]
    for (const r of o.rounds) {
      const x = l.rounds.find((y) => y.round === r)
      cells.push(x ? num(x.requests_per_s) : '-', x ? `${(100 * x.error_rate).toFixed(1)}%` : '-')
    }
    const c = l.cache_speedup
    const p = c?.paired
    cells.push(
      times(c?.ttft_p50_speedup),
      times(c?.ttft_avg_speedup),
      p ? `${times(p.ratio)} [${p.ci_low.toFixed(2)}–${p.ci_high.toFixed(2)}] n=${p.pairs}` : '-',
    )
    return cells
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const fmt = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd()
  lines.push(fmt(header), ...rows.map(fmt))
  if (o.levels.some((l) => l.cache_speedup?.paired)) {
    const p = o.levels.find((l) => l.cache_speedup?.paired)!.cache_speedup!.paired!
    lines.push(`  Speed-up = round 1 / round 2 TTFT; paired = geometric mean of per-sample ratios, ${Math.round(100 * p.confidence)}% bootstrap CI.`)
  }
  return lines.join('\n')
}
