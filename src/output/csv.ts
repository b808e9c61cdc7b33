import {stringify} from 'csv-stringify/sync'
import type {RoundSummary} from '../summary/round-summary.js'
import {round3} from './format.js'
import {type Lang, roundColumnLabel, t} from './i18n.js'
import type {SummaryBlock} from './summary-rows.js'

/**
 * Pure: metrics_summary.csv in the seed's layout (labels in English, or the seed's Chinese with lang 'zh') — one column per (level, round), a blank line, then per block a
 * title row and its labelled rows.
 */
export function summaryCsv(summaries: RoundSummary[], blocks: SummaryBlock[], lang: Lang = 'en'): string {
  const rows: (string | number | null)[][] = [[t('Metric/Round', lang), ...summaries.map((s) => roundColumnLabel(s.concurrency, s.round, lang))]]
  for (const block of blocks) {
    rows.push([], [t(block.title, lang)])
    for (const row of block.rows) rows.push([t(row.label, lang), ...summaries.map((s) => round3(row.value(s)))])
  }
  return stringify(rows, {cast: {number: (n) => String(n)}})
}
