/**
 * `prom-check`: is the endpoint reachable and parsable, and does it expose what a run would read?
 * `checkMetrics` is pure (a scrape result in, a report out); `runPromCheck` is the command's one call.
 */
import {buildMetricSet, type MetricSetOptions} from './metric-set.js'
import type {Exposition, Labels, MetricType} from './parse.js'
import {fetchExposition, type ScrapeFailureKind, type ScrapeResult} from './scrape.js'
import {matchingSeries, resolveSelector, type Reading, type Selector} from './selector.js'

/** 0: reachable and every required metric exists; 1: unreachable, non-200 or unparsable; 2: a required metric is missing. */
export type PromCheckExit = 0 | 1 | 2

export interface PromCheckMetric {
  selector: string
  found: boolean
  optional: boolean
  family?: string
  type?: MetricType
  /** The number a run would read now (sum over matching series; histogram: mean of all observations). */
  value?: number | null
  series: Array<{labels: Labels; value?: number; sum?: number; count?: number}>
  /** Close names present in the scrape, best first (only when not found). */
  suggestions: string[]
  /** Something worth a look even though the metric was found. */
  note?: string
}

export interface PromCheckRatio {
  name: string
  numerator: string
  denominator: string
  optional: boolean
  /** Both operands exist and are counters. */
  usable: boolean
  problem?: string
}

export interface PromCheckResult {
  url: string
  reachable: boolean
  status?: number
  responseMs: number
  contentType?: string
  format?: Exposition['format']
  error?: {kind: ScrapeFailureKind; message: string}
  families: {total: number; byType: Record<MetricType, number>}
  metrics: PromCheckMetric[]
  ratios: PromCheckRatio[]
  exitCode: PromCheckExit
}

export interface PromCheckOptions extends MetricSetOptions {
  url: string
  timeoutMs?: number
}

/** Validates the specs (input error on a bad one), scrapes once, and checks. */
export async function runPromCheck(opts: PromCheckOptions): Promise<PromCheckResult> {
  const set = buildMetricSet(opts)
  const scrape = await fetchExposition(opts.url, {timeoutMs: opts.timeoutMs ?? 2000})
  return checkMetrics(opts.url, scrape, set)
}

/** Pure: the report for one scrape result and the metric set a run would use. */
export function checkMetrics(url: string, scrape: ScrapeResult, set: ReturnType<typeof buildMetricSet>): PromCheckResult {
  const byType: Record<MetricType, number> = {counter: 0, gauge: 0, histogram: 0, summary: 0, untyped: 0}
  const base = {url, status: scrape.status, responseMs: scrape.responseMs, contentType: scrape.contentType}
  if (!scrape.ok) {
    return {
      ...base,
      reachable: scrape.kind === 'http_status' || scrape.kind === 'parse',
      error: {kind: scrape.kind, message: scrape.message},
      families: {total: 0, byType},
      metrics: set.metrics.map(({selector, optional}) => ({selector: selector.text, found: false, optional, series: [], suggestions: []})),
      ratios: set.ratios.map(({ratio, optional}) => ({
        name: ratio.name,
        numerator: ratio.numerator.text,
        denominator: ratio.denominator.text,
        optional,
        usable: false,
        problem: 'no scrape',
      })),
      exitCode: 1,
    }
  }

  const exposition = scrape.exposition
  for (const family of exposition.families.values()) byType[family.type]++
  const names = candidateNames(exposition)

  const metrics = set.metrics.map(({selector, optional}): PromCheckMetric => {
    const match = matchingSeries(selector, exposition)
    const reading = resolveSelector(selector, exposition)
    if (!match || !reading) {
      return {selector: selector.text, found: false, optional, series: match?.series ?? [], family: match?.family.name, type: match?.type, suggestions: closestNames(selector.name, names)}
    }
    const note =
      match.series.length === 0
        ? `no series match${selector.matchers.length > 0 ? ' the label matchers' : ' yet'}; a run reads 0 until one appears`
        : undefined
    return {selector: selector.text, found: true, optional, family: match.family.name, type: reading.type, value: currentValue(reading), series: match.series, suggestions: [], note}
  })

  const ratios = set.ratios.map(({ratio, optional}): PromCheckRatio => {
    const problem = operandProblem(ratio.numerator, exposition) ?? operandProblem(ratio.denominator, exposition)
    return {name: ratio.name, numerator: ratio.numerator.text, denominator: ratio.denominator.text, optional, usable: !problem, problem}
  })

  const missingRequired = metrics.some((m) => !m.found && !m.optional) || ratios.some((r) => !r.usable && !r.optional)
  return {
    ...base,
    reachable: true,
    format: exposition.format,
    families: {total: exposition.families.size, byType},
    metrics,
    ratios,
    exitCode: missingRequired ? 2 : 0,
  }
}

/**
 * Names present in the scrape that look like `wanted`, best first: those containing it (or contained in
 * it), those sharing most of its words (split on `_` and `:`), and those within a small edit distance.
 */
export function closestNames(wanted: string, present: string[], limit = 5): string[] {
  const target = wanted.toLowerCase()
  const targetWords = words(target)
  const scored: Array<{name: string; score: number}> = []
  for (const name of present) {
    const candidate = name.toLowerCase()
    const distance = levenshtein(target, candidate)
    const shared = targetWords.filter((w) => words(candidate).includes(w)).length
    const missingShare = targetWords.length === 0 ? 1 : 1 - shared / targetWords.length
    const targetStem = stem(target)
    const candidateStem = stem(candidate)
    // Short stems ("x", "rate") would match nearly everything.
    const substring = (targetStem.length >= 4 && candidate.includes(targetStem)) || (candidateStem.length >= 4 && target.includes(candidateStem))
    const close = distance <= Math.max(2, Math.floor(target.length / 4))
    if (!substring && !close && missingShare > 0.34) continue
    // Lower is better: word overlap dominates, edit distance breaks ties.
    scored.push({name, score: (substring ? 0 : 1) + missingShare * 2 + distance / 100})
  }
  return scored
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((s) => s.name)
}

/**
 * Edit distance, hand-written (a dozen lines) because the only packaged one in node_modules (`leven`) is a
 * transitive dev dependency of jest, not one of ours.
 */
export function levenshtein(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

function candidateNames(exposition: Exposition): string[] {
  const names = new Set<string>()
  for (const family of exposition.families.values()) {
    names.add(family.name)
    if (family.type === 'counter' && !family.name.endsWith('_total')) names.add(`${family.name}_total`)
    if (family.type === 'histogram' || family.type === 'summary') {
      names.add(`${family.name}_sum`)
      names.add(`${family.name}_count`)
    }
  }
  return [...names]
}

function operandProblem(selector: Selector, exposition: Exposition): string | undefined {
  const reading = resolveSelector(selector, exposition)
  if (!reading) return `${selector.text} is not exposed`
  if (reading.type !== 'counter' && reading.type !== 'untyped') return `${selector.text} is a ${reading.type}, not a counter`
  return undefined
}

function currentValue(reading: Reading): number | null {
  if ('sum' in reading) return reading.count > 0 ? reading.sum / reading.count : null
  return reading.value
}

function words(name: string): string[] {
  return name.split(/[_:]+/).filter((w) => w !== '' && w !== 'total')
}

function stem(name: string): string {
  const afterNamespace = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name
  return afterNamespace.replace(/_total$/, '')
}
