import {stringify} from 'csv-stringify/sync'
import type {RoundSummary} from '../summary/round-summary.js'
import {round3} from './format.js'
import type {SummaryBlock} from './summary-rows.js'

export function columnLabel(s: RoundSummary): string {
  return `Concurrency ${s.concurrency} Round ${s.round}`
}

/**
 * Pure: metrics_summary.csv in the seed's layout — one column per (level, round), a blank line, then per block a
 * title row and its labelled rows.
 */
export function summaryCsv(summaries: RoundSummary[], blocks: SummaryBlock[]): string {
  const rows: (string | number | null)[][] = [['Metric/Round', ...summaries.map(columnLabel)]]
  for (const block of blocks) {
    rows.push([], [block.title])
    for (const row of block.rows) rows.push([row.label, ...summaries.map((s) => round3(row.value(s)))])
  }
  return stringify(rows, {cast: {number: (n) => String(n)}})
}
