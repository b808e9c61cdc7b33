import type {RoundSummary} from '../summary/round-summary.js'
import type {Target, TargetMeasure, Targets, TargetUnit} from './targets.js'

/** One target checked against one (level, round). */
export interface TargetResult {
  /** The key as written in the SLO file, e.g. "p99_latency_ms". */
  target: string
  concurrency: number
  round: number
  direction: Target['direction']
  bound: number
  /** Null when the round has no such value (e.g. no successful request, no SLO): such a check fails. */
  actual: number | null
  unit: TargetUnit
  pass: boolean
}

/** Pure: the value a target bounds, from one round summary; null when the round does not have it. */
export function targetActual(measure: TargetMeasure, s: RoundSummary): number | null {
  switch (measure.kind) {
    case 'distribution':
      return s.distributions[measure.metric][measure.stat]
    case 'request_throughput':
      return s.throughput.requests_per_s
    case 'output_throughput':
      return s.throughput.output_tokens_per_s
    case 'error_rate':
      return s.total_requests > 0 ? s.failed_requests / s.total_requests : null
    case 'goodput_ratio':
      return s.goodput && s.total_requests > 0 ? s.goodput.met_requests / s.total_requests : null
    case 'goodput_rps':
      return s.goodput ? s.goodput.requests_per_s : null
    case 'goodput_tps':
      return s.goodput ? s.goodput.tokens_per_s : null
  }
}

/**
 * Relative slack for float noise: an actual of 1000.0000000000001 ms (a sum of timestamps) is printed and stored as
 * 1000 and must not fail a bound of 1000. Far below any measurement's resolution.
 */
const EPS = 1e-9

const applies = (t: Targets, s: RoundSummary) =>
  (t.rounds === null || t.rounds.includes(s.round)) && (t.concurrency === null || t.concurrency.includes(s.concurrency))

/**
 * Pure: every target against every (level, round) its filters select — one row each, grouped by target in file
 * order, then by concurrency and round. Bounds are inclusive (actual ≤ bound for upper bounds, ≥ for lower,
 * up to float noise).
 * A missing value fails: a latency target cannot be met by a round in which no request succeeded.
 */
export function evaluateTargets(targets: Targets, summaries: readonly RoundSummary[]): TargetResult[] {
  const selected = summaries.filter((s) => applies(targets, s)).sort((a, b) => a.concurrency - b.concurrency || a.round - b.round)
  const out: TargetResult[] = []
  for (const t of targets.targets) {
    for (const s of selected) {
      const actual = targetActual(t.measure, s)
      const pass = actual !== null && Number.isFinite(actual) && (t.direction === 'at_most' ? actual <= t.bound * (1 + EPS) : actual >= t.bound * (1 - EPS))
      out.push({target: t.key, concurrency: s.concurrency, round: s.round, direction: t.direction, bound: t.bound, actual, unit: t.unit, pass})
    }
  }
  return out
}

/** True when any check failed: `run` exits 3 then. */
export function anyTargetFailed(results: readonly TargetResult[]): boolean {
  return results.some((r) => !r.pass)
}

/**
 * Pure: warnings for filters that select nothing in this run (e.g. `concurrency: [64]` when 64 was not run), so
 * a target that silently checked nothing does not read as a pass.
 */
export function targetCoverageWarnings(targets: Targets, summaries: readonly RoundSummary[]): string[] {
  const warnings: string[] = []
  const levels = new Set(summaries.map((s) => s.concurrency))
  const rounds = new Set(summaries.map((s) => s.round))
  const missingLevels = (targets.concurrency ?? []).filter((c) => !levels.has(c))
  const missingRounds = (targets.rounds ?? []).filter((r) => !rounds.has(r))
  if (missingLevels.length > 0) warnings.push(`targets.concurrency lists ${missingLevels.join(', ')}, not measured in this run (measured: ${[...levels].sort((a, b) => a - b).join(', ') || 'none'})`)
  if (missingRounds.length > 0) warnings.push(`targets.rounds lists ${missingRounds.join(', ')}, not measured in this run`)
  if (targets.targets.length > 0 && !summaries.some((s) => applies(targets, s))) warnings.push('no measured (concurrency, round) matches the targets\' filters: no target was checked')
  return warnings
}

function formatValue(x: number | null, unit: TargetUnit): string {
  if (x === null || !Number.isFinite(x)) return 'no data'
  switch (unit) {
    case 'ms':
      return `${x.toFixed(1)} ms`
    case 'req/s':
      return `${x.toFixed(2)} req/s`
    case 'tok/s':
      return `${x.toFixed(1)} tok/s`
    case 'fraction':
      return `${+(100 * x).toFixed(2)}%`
  }
}

/** Pure: the PASS/FAIL table (as seed 004's target table, one row per target × level × round) and a verdict line. */
export function renderTargets(results: readonly TargetResult[]): string {
  if (results.length === 0) return 'Targets: nothing to check (no measured round matches the targets\' filters).'
  const header = ['Target', 'Concurrency', 'Round', 'Bound', 'Actual', 'Result']
  const rows = results.map((r, i) => [
    i > 0 && results[i - 1].target === r.target ? '' : r.target,
    String(r.concurrency),
    String(r.round),
    `${r.direction === 'at_most' ? '≤' : '≥'} ${formatValue(r.bound, r.unit)}`,
    formatValue(r.actual, r.unit),
    r.pass ? 'PASS' : 'FAIL',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) => `│ ${cells.map((c, i) => c.padEnd(widths[i])).join(' │ ')} │`
  const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`
  const failed = results.filter((r) => !r.pass).length
  return [
    'Targets:',
    rule('┌', '┬', '┐'),
    line(header),
    rule('├', '┼', '┤'),
    ...rows.map(line),
    rule('└', '┴', '┘'),
    failed === 0 ? `All ${results.length} target checks passed.` : `${failed} of ${results.length} target checks FAILED.`,
  ].join('\n')
}
