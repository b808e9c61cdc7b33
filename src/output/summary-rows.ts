import {DISTRIBUTION_METRICS, type RoundSummary} from '../summary/round-summary.js'
import type {Stats} from '../summary/stats.js'

/**
 * The rows of metrics_summary.csv, as data: append-only, so files from older versions stay comparable.
 * Each block has a title row followed by labelled value rows; one value per (level, round) column.
 */
export interface SummaryBlock {
  title: string
  rows: {label: string; value: (s: RoundSummary) => number | null}[]
}

/**
 * The stats rows of a distribution block: the seed's seven in its order, then P95 (asked for by users of the
 * sweep tool) appended so the seed's rows keep their positions.
 */
export const SEED_STATS: {label: string; key: keyof Stats}[] = [
  {label: 'Avg', key: 'avg'},
  {label: 'P50', key: 'p50'},
  {label: 'P90', key: 'p90'},
  {label: 'P99', key: 'p99'},
  {label: 'Min', key: 'min'},
  {label: 'Max', key: 'max'},
  {label: 'Stddev', key: 'stddev'},
  {label: 'P95', key: 'p95'},
]

export function statsBlock(title: string, pick: (s: RoundSummary) => Stats | undefined): SummaryBlock {
  return {title, rows: SEED_STATS.map(({label, key}) => ({label, value: (s) => pick(s)?.[key] ?? null}))}
}

export function summaryBlocks(extra: SummaryBlock[] = []): SummaryBlock[] {
  return [
    ...DISTRIBUTION_METRICS.map((m) => statsBlock(m.label, (s) => s.distributions[m.key])),
    {
      title: 'Throughput',
      rows: [
        {label: 'Total requests', value: (s) => s.total_requests},
        {label: 'Successful requests', value: (s) => s.successful_requests},
        {label: 'Failed requests', value: (s) => s.failed_requests},
        {label: 'Duration (s)', value: (s) => s.duration_s},
        {label: 'Output tokens/s', value: (s) => s.throughput.output_tokens_per_s},
        {label: 'Requests/s', value: (s) => s.throughput.requests_per_s},
        {label: 'Input tokens/s', value: (s) => s.throughput.input_tokens_per_s},
        {label: 'Total tokens/s', value: (s) => s.throughput.total_tokens_per_s},
        {label: 'Error rate (%)', value: (s) => (s.total_requests > 0 ? (100 * s.failed_requests) / s.total_requests : null)},
        {label: 'Retried requests', value: (s) => s.retries.requests},
      ],
    },
    {
      title: 'Goodput',
      rows: [
        {label: 'SLO-met requests', value: (s) => s.goodput?.met_requests ?? null},
        {label: 'SLO-met requests (%)', value: (s) => s.goodput?.met_requests_pct ?? null},
        {label: 'SLO-met output tokens', value: (s) => s.goodput?.met_output_tokens ?? null},
        {label: 'SLO-met output tokens (%)', value: (s) => s.goodput?.met_output_tokens_pct ?? null},
        {label: 'Goodput (tokens/s)', value: (s) => s.goodput?.tokens_per_s ?? null},
        {label: 'Goodput (requests/s)', value: (s) => s.goodput?.requests_per_s ?? null},
      ],
    },
    {
      title: 'Cache',
      rows: [
        {label: 'Cached tokens', value: (s) => s.cache.cached_tokens},
        {label: 'Prompt tokens (reporting requests)', value: (s) => s.cache.input_tokens},
        {label: 'Cached share (%)', value: (s) => (s.cache.cached_share === null ? null : 100 * s.cache.cached_share)},
      ],
    },
    ...extra,
  ]
}

/**
 * One block per Prometheus metric or ratio (the seed's "Prometheus 指标" section): the distribution of its
 * per-request values, then the authoritative round value (counter delta / gauge end value / ratio of deltas).
 */
export function prometheusBlocks(summaries: RoundSummary[]): SummaryBlock[] {
  const names: string[] = []
  for (const s of summaries) for (const n of s.prometheus?.names ?? []) if (!names.includes(n)) names.push(n)
  return names.map((name) => {
    const block = statsBlock(`Prometheus: ${name}`, (s) => s.prometheus?.per_request[name])
    block.rows.push({label: 'Round value', value: (s) => s.prometheus?.round.values[name] ?? null})
    return block
  })
}
