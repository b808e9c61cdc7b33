import {fixed} from '../output/format.js'
import {prometheusBlocks, type SummaryBlock, summaryBlocks} from '../output/summary-rows.js'
import {type Lang, roundColumnLabel, t} from '../output/i18n.js'
import type {RunResults} from './model.js'

/** A rendered-to-text table block: a title row and labelled rows, one cell per (level, round). */
export interface TextBlock {
  title: string
  rows: {label: string; cells: string[]}[]
}

/** The per-(level, round) table: header cells (first is the corner label) and blocks, as display strings. */
export interface SummaryTable {
  header: string[]
  blocks: TextBlock[]
}

/** Prometheus metric and ratio names in the run, in output order, with their type ('ratio', 'counter', …) if recorded. */
export function prometheusNames(results: RunResults): {name: string; type: string | null; ratio: boolean}[] {
  const out: {name: string; type: string | null; ratio: boolean}[] = []
  for (const r of results.rounds) {
    const p = r.summary.prometheus
    if (!p) continue
    for (const name of p.names) {
      const type = p.round.types[name] ?? null
      const seen = out.find((x) => x.name === name)
      if (!seen) out.push({name, type, ratio: type === 'ratio'})
      else if (seen.type === null && type !== null) Object.assign(seen, {type, ratio: type === 'ratio'})
    }
  }
  return out
}

/**
 * One row's cells: a row of whole numbers (request and token counts) stays whole, any other row gets `digits`
 * decimals throughout, so the decimal points of a row line up; "-" for a missing value.
 */
export function formatRow(values: (number | null)[], digits = 2): string[] {
  const whole = values.every((x) => x === null || Number.isInteger(x))
  return values.map((x) => (whole && x !== null ? String(x) : fixed(x, digits)))
}

const PROMETHEUS_PREFIX = 'Prometheus: '

/**
 * Pure: the metrics_summary.csv table — the very blocks and rows the CSV is written from
 * (output/summary-rows.ts, Prometheus blocks included) — as display strings with labels in `lang`.
 * Prometheus values get 4 decimals (hit rates are 0–1), as in the terminal table; metric names are never
 * translated.
 */
export function summaryTable(results: RunResults, lang: Lang): SummaryTable {
  const summaries = results.rounds.map((r) => r.summary)
  const header = [t('Metric/Round', lang), ...results.rounds.map((r) => roundColumnLabel(r.concurrency, r.round, lang))]
  const title = (b: SummaryBlock) =>
    b.title.startsWith(PROMETHEUS_PREFIX) ? `${t('Prometheus', lang)}: ${b.title.slice(PROMETHEUS_PREFIX.length)}` : t(b.title, lang)
  const blocks = summaryBlocks(prometheusBlocks(summaries)).map((b) => {
    const digits = b.title.startsWith(PROMETHEUS_PREFIX) ? 4 : 2
    return {
      title: title(b),
      rows: b.rows.map((row) => ({label: t(row.label, lang), cells: formatRow(summaries.map((s) => row.value(s)), digits)})),
    }
  })
  return {header, blocks}
}
