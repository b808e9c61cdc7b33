/**
 * Pure: the human report of `prom-check` (printed with this.log, so silent under --json).
 */
import type {PromCheckMetric, PromCheckResult} from './check.js'
import type {Labels} from './parse.js'

const MAX_SERIES_SHOWN = 8

/** Renders a prom-check result as plain text lines. */
export function renderPromCheck(result: PromCheckResult): string {
  const out: string[] = []
  const status = result.status === undefined ? 'no response' : `HTTP ${result.status}`
  out.push(`Endpoint   ${result.url}`)
  out.push(`Status     ${status} in ${formatMs(result.responseMs)}${result.contentType ? `, ${result.contentType}` : ''}`)
  if (result.error) {
    out.push(`Problem    ${result.error.kind}: ${result.error.message}`)
  } else {
    const t = result.families.byType
    out.push(
      `Families   ${result.families.total} (${t.counter} counter, ${t.gauge} gauge, ${t.histogram} histogram, ${t.summary} summary, ${t.untyped} untyped)` +
        (result.format === 'openmetrics' ? ', OpenMetrics' : ''),
    )
  }

  if (result.metrics.length > 0 && !result.error) {
    out.push('', 'Metrics')
    for (const metric of result.metrics) out.push(...renderMetric(metric))
  }
  if (result.ratios.length > 0 && !result.error) {
    out.push('', 'Ratios')
    for (const ratio of result.ratios) {
      const state = ratio.usable ? 'ok' : ratio.optional ? `absent (optional): ${ratio.problem}` : `UNUSABLE: ${ratio.problem}`
      out.push(`  ${ratio.name} = Δ${ratio.numerator} / Δ${ratio.denominator}  ${state}`)
    }
  }

  out.push('', verdict(result))
  return out.join('\n')
}

function renderMetric(metric: PromCheckMetric): string[] {
  if (!metric.found) {
    const head = metric.optional ? `  ${metric.selector}  absent (optional)` : `  ${metric.selector}  MISSING`
    const lines = [head]
    if (metric.family && metric.type) lines.push(`    family ${metric.family} (${metric.type}) exists, but no series match the label matchers`)
    if (metric.suggestions.length > 0) lines.push(`    did you mean: ${metric.suggestions.join(', ')}`)
    else if (!metric.family) lines.push('    no similar names in this scrape')
    return lines
  }
  const family = metric.family !== metric.selector ? ` via ${metric.family}` : ''
  const lines = [`  ${metric.selector}  ${metric.type}${family}, ${metric.series.length} series, now ${formatValue(metric.value)}`]
  for (const series of metric.series.slice(0, MAX_SERIES_SHOWN)) {
    const value = series.value !== undefined ? formatValue(series.value) : `sum ${formatValue(series.sum)} count ${formatValue(series.count)}`
    lines.push(`    ${formatLabels(series.labels)} ${value}`)
  }
  if (metric.series.length > MAX_SERIES_SHOWN) lines.push(`    … ${metric.series.length - MAX_SERIES_SHOWN} more`)
  if (metric.note) lines.push(`    note: ${metric.note}`)
  return lines
}

function verdict(result: PromCheckResult): string {
  if (result.exitCode === 1) return 'Result     endpoint not usable (exit 1)'
  if (result.exitCode === 2) {
    const missing = [
      ...result.metrics.filter((m) => !m.found && !m.optional).map((m) => m.selector),
      ...result.ratios.filter((r) => !r.usable && !r.optional).map((r) => r.name),
    ]
    return `Result     missing: ${missing.join(', ')} (exit 2)`
  }
  return 'Result     ok'
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort()
  return keys.length === 0 ? '{}' : `{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`
}

function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-'
  if (Number.isInteger(value)) return String(value)
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toPrecision(4)
}

function formatMs(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`
}
