/**
 * Pure: Prometheus exposition text (0.0.4) or OpenMetrics text → typed metric families with numbers.
 *
 * This is the only module that imports `parse-prometheus-text-format`, and it uses the library for the
 * fiddly part only: one sample line at a time (name, label escapes, value, timestamp). Family grouping
 * and typing are done here, because the library's own grouping (v1.1.1) loses data we need:
 *  - a labelled histogram/summary drops every `_sum`/`_count` and merges all label sets' buckets into
 *    one map (`flattenMetrics` only keeps unlabelled sums) — vLLM histograms always carry labels;
 *  - the last sample is dropped when the text does not end with a newline;
 *  - OpenMetrics declares a counter by its family name (`# TYPE x counter`) and exposes `x_total` and
 *    `x_created`, which the library turns into two unrelated untyped families.
 * Values are coerced from strings exactly once, here (`+Inf`, `-Inf`, `NaN` included).
 */
import parseSampleText from 'parse-prometheus-text-format'

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export type Labels = Record<string, string>

/** One series of a counter, gauge or untyped family. */
export interface ScalarSeries {
  labels: Labels
  value: number
}

/** One series of a histogram or summary: the running sum and count of observations (buckets/quantiles are not kept). */
export interface DistributionSeries {
  labels: Labels
  sum: number
  count: number
}

export type MetricFamily =
  | {name: string; type: 'counter' | 'gauge' | 'untyped'; help?: string; series: ScalarSeries[]}
  | {name: string; type: 'histogram' | 'summary'; help?: string; series: DistributionSeries[]}

/** A parsed scrape. `families` keeps the order of first appearance. */
export interface Exposition {
  format: 'prometheus' | 'openmetrics'
  families: Map<string, MetricFamily>
}

export type ParseResult = {ok: true; exposition: Exposition} | {ok: false; error: string}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

/** How a sample line relates to the family it belongs to. */
type Role = 'value' | 'sum' | 'count' | 'ignored'

export interface ParseOptions {
  /**
   * Parse only sample lines whose metric name passes this test (others are skipped unvalidated). The probe
   * uses it to read just the families it needs: a vLLM /metrics has thousands of bucket lines, and the parse
   * runs on the event loop that also timestamps streamed tokens.
   */
  keepSample?: (sampleName: string) => boolean
}

/** Parses exposition text. Never throws: a malformed line gives `{ok: false, error}` naming the line. */
export function parseExposition(text: string, opts: ParseOptions = {}): ParseResult {
  const declared = new Map<string, string>() // family name → lower-case declared type
  const helps = new Map<string, string>()
  const samples: Array<{name: string; labels: Labels; value: number}> = []
  let format: Exposition['format'] = 'prometheus'

  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '') continue
    if (line.startsWith('#')) {
      const meta = /^#\s+(TYPE|HELP|UNIT|EOF)\b\s*(\S*)\s*(.*)$/.exec(line)
      if (!meta) continue // a plain comment
      const [, keyword, name, rest] = meta
      if (keyword === 'EOF') {
        format = 'openmetrics'
        break
      }
      if (keyword === 'TYPE') declared.set(name, rest.trim().toLowerCase())
      else if (keyword === 'HELP') helps.set(name, rest)
      else format = 'openmetrics' // # UNIT exists only in OpenMetrics
      continue
    }
    if (opts.keepSample) {
      const name = sampleNameOf(line)
      // Skipped lines still get the cheap name check, so an HTML or JSON body is not mistaken for an empty scrape.
      if (!METRIC_NAME.test(name)) return {ok: false, error: `line ${i + 1}: invalid metric name "${name}": ${preview(line)}`}
      if (!opts.keepSample(name)) continue
    }
    const parsed = parseSampleLine(line)
    if (!parsed.ok) return {ok: false, error: `line ${i + 1}: ${parsed.error}: ${preview(line)}`}
    samples.push(parsed.sample)
  }

  const families = new Map<string, MetricFamily>()
  // Distribution series are assembled from separate _sum and _count lines, keyed by their label set.
  const distributionIndex = new Map<string, DistributionSeries>()

  for (const sample of samples) {
    const {family: familyName, type, role} = classify(sample.name, declared)
    if (role === 'ignored') continue
    let family = families.get(familyName)
    if (!family) {
      family = emptyFamily(familyName, type, helps.get(familyName) ?? helps.get(sample.name))
      families.set(familyName, family)
    }
    if (family.type === 'histogram' || family.type === 'summary') {
      const distribution = family.series as DistributionSeries[]
      const labels = withoutLabel(sample.labels, family.type === 'histogram' ? 'le' : 'quantile')
      const key = `${familyName}\u0000${labelKey(labels)}`
      let series = distributionIndex.get(key)
      if (!series) {
        series = {labels, sum: Number.NaN, count: Number.NaN}
        distributionIndex.set(key, series)
        distribution.push(series)
      }
      if (role === 'sum') series.sum = sample.value
      else if (role === 'count') series.count = sample.value
    } else {
      ;(family.series as ScalarSeries[]).push({labels: sample.labels, value: sample.value})
    }
  }

  // Declared families with no samples yet still exist: Python's prometheus_client prints HELP/TYPE for a
  // labelled counter before its first .labels() call (SGLang's cached_tokens_total does this), and a
  // selector must be able to read that as "zero so far" rather than "missing".
  for (const [name, declaredType] of declared) {
    if (families.has(name)) continue
    const type = toMetricType(declaredType)
    if (type === undefined) continue
    families.set(name, emptyFamily(name, type, helps.get(name)))
  }

  return {ok: true, exposition: {format, families}}
}

/** Canonical string for a label set (sorted keys), used to compare series across scrapes. */
export function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')
}

/** Coerces an exposition value; `undefined` when it is not a number (Go's ParseFloat spellings accepted). */
export function parseValue(text: string): number | undefined {
  const t = text.trim()
  if (t === '') return undefined
  const lower = t.toLowerCase()
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY
  if (lower === '-inf') return Number.NEGATIVE_INFINITY
  if (lower === 'nan') return Number.NaN
  const n = Number(t)
  return Number.isNaN(n) ? undefined : n
}

function sampleNameOf(line: string): string {
  const end = line.search(/[{\s]/)
  return end < 0 ? line : line.slice(0, end)
}

function parseSampleLine(
  line: string,
): {ok: true; sample: {name: string; labels: Labels; value: number}} | {ok: false; error: string} {
  let families
  try {
    // One line per call: the library then acts as a pure line parser and none of its grouping applies.
    families = parseSampleText(line + '\n')
  } catch {
    return {ok: false, error: 'malformed sample line'}
  }
  const family = families[0]
  const raw = family?.metrics[0]
  if (!family || !raw || raw.value === undefined) return {ok: false, error: 'malformed sample line'}
  if (!METRIC_NAME.test(family.name)) return {ok: false, error: `invalid metric name "${family.name}"`}
  const value = parseValue(raw.value)
  if (value === undefined) return {ok: false, error: `value "${raw.value}" is not a number`}
  return {ok: true, sample: {name: family.name, labels: raw.labels ?? {}, value}}
}

/**
 * Finds the family a sample line belongs to. The exact name wins (text format 0.0.4 declares a counter
 * as `x_total`); otherwise the suffixes the two formats append to a declared family name are tried.
 */
function classify(sampleName: string, declared: Map<string, string>): {family: string; type: MetricType; role: Role} {
  const exact = toMetricType(declared.get(sampleName))
  if (exact === 'counter' || exact === 'gauge' || exact === 'untyped') return {family: sampleName, type: exact, role: 'value'}
  // A summary's own-name lines are its quantiles; a histogram never uses its bare name.
  if (exact === 'summary' || exact === 'histogram') return {family: sampleName, type: exact, role: 'ignored'}

  for (const suffix of ['_total', '_created', '_sum', '_count', '_bucket'] as const) {
    if (!sampleName.endsWith(suffix)) continue
    const base = sampleName.slice(0, -suffix.length)
    const type = toMetricType(declared.get(base))
    if (type === 'counter') {
      if (suffix === '_total') return {family: base, type, role: 'value'}
      if (suffix === '_created') return {family: base, type, role: 'ignored'}
    }
    if (type === 'histogram' || type === 'summary') {
      if (suffix === '_sum') return {family: base, type, role: 'sum'}
      if (suffix === '_count') return {family: base, type, role: 'count'}
      if (suffix === '_bucket' || suffix === '_created') return {family: base, type, role: 'ignored'}
    }
  }
  // Undeclared, or a type we do not model (info, stateset, gaugehistogram): each sample name is its own family.
  return {family: sampleName, type: 'untyped', role: 'value'}
}

function toMetricType(declared: string | undefined): MetricType | undefined {
  switch (declared) {
    case 'counter':
    case 'gauge':
    case 'histogram':
    case 'summary':
    case 'untyped':
      return declared
    case 'unknown': // OpenMetrics' spelling of untyped
      return 'untyped'
    default:
      return undefined
  }
}

function emptyFamily(name: string, type: MetricType, help: string | undefined): MetricFamily {
  return type === 'histogram' || type === 'summary' ? {name, type, help, series: []} : {name, type, help, series: []}
}

function withoutLabel(labels: Labels, drop: string): Labels {
  if (!(drop in labels)) return labels
  const copy = {...labels}
  delete copy[drop]
  return copy
}

function preview(line: string): string {
  return line.length > 80 ? `${line.slice(0, 77)}...` : line
}
