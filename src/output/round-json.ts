import {itlMs, latencyMs, outputSpeedTps, ttftMs} from '../record/derive.js'
import type {RequestRecord} from '../record/record.js'
import {scoreRecord} from '../slo/score.js'
import type {Slo} from '../slo/slo.js'
import {DISTRIBUTION_METRICS, type RoundSummary} from '../summary/round-summary.js'
import {STAT_KEYS} from '../summary/stats.js'
import {stringify} from 'csv-stringify/sync'
import {round3} from './format.js'

/**
 * Pure: the seed's flat summary keys (`avg_ttft`, `p50_ttft`, … for every metric and stat), then the
 * structured blocks (throughput, goodput, cache, failures).
 */
export function flatSummary(s: RoundSummary): Record<string, unknown> {
  const out: Record<string, unknown> = {
    total_requests: s.total_requests,
    successful_requests: s.successful_requests,
    failed_requests: s.failed_requests,
    planned_requests: s.planned_requests,
    complete: s.complete,
    retries: s.retries,
    duration_s: round3(s.duration_s),
    started_at: s.started_at,
    ended_at: s.ended_at,
  }
  for (const m of DISTRIBUTION_METRICS) {
    for (const k of STAT_KEYS) out[`${k}_${m.key}`] = round3(s.distributions[m.key][k])
  }
  out.output_throughput = round3(s.throughput.output_tokens_per_s)
  out.request_throughput = round3(s.throughput.requests_per_s)
  out.input_throughput = round3(s.throughput.input_tokens_per_s)
  out.total_token_throughput = round3(s.throughput.total_tokens_per_s)
  out.goodput = s.goodput && {
    ...s.goodput,
    met_requests_pct: round3(s.goodput.met_requests_pct),
    met_output_tokens_pct: round3(s.goodput.met_output_tokens_pct),
    tokens_per_s: round3(s.goodput.tokens_per_s),
    requests_per_s: round3(s.goodput.requests_per_s),
  }
  out.cache = {...s.cache, cached_share: round3(s.cache.cached_share)}
  out.token_sources = s.token_sources
  out.failures = s.failures
  out.errors = s.errors
  if (s.prometheus !== undefined) out.prometheus = s.prometheus
  // The client's own health, next to the numbers it could distort.
  if (s.event_loop !== undefined) out.event_loop = s.event_loop
  if (s.connections !== undefined) {
    const connectMs: Record<string, unknown> = {count: s.connections.connect_ms.count}
    for (const k of STAT_KEYS) connectMs[k] = round3(s.connections.connect_ms[k])
    out.connections = {...s.connections, connect_ms: connectMs}
  }
  return out
}

/** Pure: one request as it appears in `requests` of the round JSON. */
export function requestRow(r: RequestRecord, slo?: Slo): Record<string, unknown> {
  return {
    index: r.index,
    sample_id: r.sampleId,
    prompt: r.promptPreview,
    ttft: round3(ttftMs(r)),
    itl: round3(itlMs(r)),
    latency: round3(latencyMs(r)),
    input_tokens: r.inputTokens ?? null,
    output_tokens: r.outputTokens ?? null,
    output_tokens_source: r.outputTokensSource ?? null,
    cached_tokens: r.cachedTokens ?? null,
    cached_tokens_source: r.cachedTokensSource ?? null,
    input_length: r.inputLength ?? null,
    queue_ms: round3(r.sentAtMs - r.queuedAtMs),
    // Whether the request paid for a TCP/TLS connect (then inside its TTFT) and how long that took.
    connect_ms: round3(r.connectMs),
    reused_connection: r.reusedConnection ?? null,
    success: r.ok,
    error: r.error ? `${r.error.category}: ${r.error.message}` : null,
    error_category: r.error?.category ?? null,
    slo_met: slo ? scoreRecord(r, slo).met : null,
    ...(r.prometheus ? {prometheus: r.prometheus} : {}),
    ...(r.scrapes ? {scrapes: r.scrapes} : {}),
  }
}

/** Pure: the round JSON's `configuration` block. */
function roundConfiguration(configuration: Record<string, unknown>, summary: RoundSummary): Record<string, unknown> {
  return {...configuration, concurrency: summary.concurrency, round: summary.round}
}

/** Pure: the whole round JSON as one object (small rounds, tests; large rounds stream it, see round-files.ts). */
export function roundJson(
  configuration: Record<string, unknown>,
  summary: RoundSummary,
  records: RequestRecord[],
  slo?: Slo,
): Record<string, unknown> {
  return {
    configuration: roundConfiguration(configuration, summary),
    summary: flatSummary(summary),
    requests: records.map((r) => requestRow(r, slo)),
  }
}

/**
 * Pure: the round JSON's text up to the `requests` array, exactly as `JSON.stringify(roundJson(…), null, 2)` prints
 * it: stringified with an empty array, which is then cut off, so key order and indentation cannot drift.
 */
export function roundJsonHead(configuration: Record<string, unknown>, summary: RoundSummary): string {
  const text = JSON.stringify({configuration: roundConfiguration(configuration, summary), summary: flatSummary(summary), requests: []}, null, 2)
  const tail = '[]\n}'
  if (!text.endsWith(tail)) throw new Error('round JSON: `requests` must be its last key')
  return text.slice(0, -tail.length)
}

/**
 * Pure: one element of the `requests` array as `JSON.stringify(…, null, 2)` prints it two levels deep: the element's
 * own pretty form, every line indented by four more spaces (JSON strings never hold a raw newline, so only line
 * breaks are indented).
 */
export function requestJsonElement(row: Record<string, unknown>): string {
  return '    ' + JSON.stringify(row, null, 2).replaceAll('\n', '\n    ')
}

/**
 * The text around the elements: head + open + element (+ between + element)… + close, or head + empty — the bytes
 * `writeJson(file, roundJson(…))` writes (trailing newline included).
 */
export const ROUND_JSON_FRAMING = {
  /** After the head: opens a non-empty array; elements follow, separated by `between`. */
  open: '[\n',
  between: ',\n',
  /** Closes a non-empty array and the document. */
  close: '\n  ]\n}\n',
  /** The whole tail when the round has no request. */
  empty: '[]\n}\n',
} as const

/** Columns of the per-request CSV (seed 001's requests_cX.csv), append-only. */
export const REQUEST_CSV_COLUMNS = [
  'index', 'sample_id', 'success', 'error_category', 'error', 'ttft_ms', 'itl_ms', 'latency_ms', 'queue_ms',
  'input_tokens', 'output_tokens', 'cached_tokens', 'output_tokens_source', 'output_speed_tps', 'slo_met', 'prompt',
  'connect_ms', 'reused_connection',
] as const

/** csv-stringify options of the per-request CSV (booleans as true/false, not 1/""). */
const CSV_OPTIONS = {cast: {boolean: (b: boolean) => String(b)}}

/** Pure: CSV lines (each ending in a newline) for the given rows of values; the header is `[REQUEST_CSV_COLUMNS]`. */
export function csvLines(rows: unknown[][]): string {
  return stringify(rows, CSV_OPTIONS)
}

/** Pure: one request's values in REQUEST_CSV_COLUMNS order. */
export function requestCsvValues(r: RequestRecord, slo?: Slo, row: Record<string, unknown> = requestRow(r, slo)): unknown[] {
  const values: Record<(typeof REQUEST_CSV_COLUMNS)[number], unknown> = {
    index: r.index,
    sample_id: r.sampleId,
    success: r.ok,
    error_category: r.error?.category ?? '',
    error: r.error?.message ?? '',
    ttft_ms: row.ttft,
    itl_ms: row.itl,
    latency_ms: row.latency,
    queue_ms: row.queue_ms,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    cached_tokens: row.cached_tokens,
    output_tokens_source: row.output_tokens_source,
    output_speed_tps: round3(outputSpeedTps(r)),
    slo_met: row.slo_met,
    prompt: r.promptPreview,
    connect_ms: row.connect_ms,
    reused_connection: row.reused_connection,
  }
  return REQUEST_CSV_COLUMNS.map((c) => values[c] ?? '')
}

/** Pure: one row per request of a round, in plan order. */
export function requestsCsv(records: RequestRecord[], slo?: Slo): string {
  return csvLines([[...REQUEST_CSV_COLUMNS], ...records.map((r) => requestCsvValues(r, slo))])
}
