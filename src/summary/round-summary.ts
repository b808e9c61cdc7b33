import type {PrometheusHealth, RoundPrometheus} from '../metrics/probe.js'
import type {EventLoopStats} from '../perf/event-loop.js'
import {chunkGapsMs, itlMs, latencyMs, outputSpeedTps, ttftMs} from '../record/derive.js'
import type {FailureCategory, RequestRecord} from '../record/record.js'
import {scoreRecord} from '../slo/score.js'
import type {Slo} from '../slo/slo.js'
import {type Stats, summarize} from './stats.js'

/** Metrics with a full distribution, in display order; the key is also the JSON/CSV suffix. */
export const DISTRIBUTION_METRICS = [
  {key: 'ttft', label: 'TTFT (ms)'},
  {key: 'itl', label: 'ITL (ms)'},
  {key: 'latency', label: 'Latency (ms)'},
  {key: 'chunk_gap', label: 'Chunk gap (ms)'},
  {key: 'input_tokens', label: 'Input tokens'},
  {key: 'output_tokens', label: 'Output tokens'},
  {key: 'cached_tokens', label: 'Cached tokens'},
  {key: 'output_speed', label: 'Output speed (tok/s/req)'},
] as const
export type DistributionKey = (typeof DISTRIBUTION_METRICS)[number]['key']

export interface Goodput {
  slo: Slo
  met_requests: number
  met_requests_pct: number
  met_output_tokens: number
  met_output_tokens_pct: number
  tokens_per_s: number
  requests_per_s: number
}

export interface RoundSummary {
  concurrency: number
  round: number
  total_requests: number
  successful_requests: number
  failed_requests: number
  /** Requests the plan had for this round; more than total_requests when the round was cut short. */
  planned_requests: number
  /** False when the run was interrupted or the level aborted before every planned request finished. */
  complete: boolean
  /** --retries: requests that needed more than one attempt, and the extra attempts made. */
  retries: {requests: number; attempts: number}
  /** First send → last completion, seconds (summed per session when a resumed run spans a pause). */
  duration_s: number
  started_at: string | null
  ended_at: string | null
  distributions: Record<DistributionKey, Stats>
  throughput: {
    output_tokens_per_s: number
    input_tokens_per_s: number
    total_tokens_per_s: number
    requests_per_s: number
  }
  /** Null when no SLO was given. */
  goodput: Goodput | null
  cache: {
    /** Requests whose server reported a cached-token count. */
    reported_requests: number
    cached_tokens: number
    input_tokens: number
    /** cached / input tokens over the requests that reported both; null when none did. */
    cached_share: number | null
  }
  /** Where output token counts came from: the server's usage or counting content chunks. */
  token_sources: {usage: number; chunks: number}
  failures: Partial<Record<FailureCategory, {count: number; example: string}>>
  /** Distinct error messages with their counts, most frequent first (at most MAX_DISTINCT_ERRORS). */
  errors: {category: FailureCategory; message: string; count: number}[]
  /** Present with --prometheus-url: per-request distributions and the authoritative round values. */
  prometheus?: RoundPrometheusSummary
  /** How late the client's event loop ran during the round (absent for a round with nothing sent). */
  event_loop?: EventLoopStats
}

export interface RoundPrometheusSummary {
  /** Metric and ratio names in output order. */
  names: string[]
  /** From scrapes at round start and end: counter deltas, gauge end values, ratios of deltas. */
  round: RoundPrometheus
  /** Distribution of the per-request values (before/after each request, shared scrapes). */
  per_request: Record<string, Stats>
  /** Scrape failures and counter resets so far in the run. */
  health: PrometheusHealth
}

/** Distinct error messages kept per round; a storm of unique messages must not bloat the outputs. */
export const MAX_DISTINCT_ERRORS = 20

const sum = (xs: Iterable<number>) => {
  let s = 0
  for (const x of xs) s += x
  return s
}

/**
 * Pure: the summary of one (level, round) from its records and the SLO. `opts.chunkGaps`, when given, is the
 * chunk-gap distribution already pooled by the caller (whose records then no longer carry `chunkOffsetsMs`).
 */
export function summarizeRound(concurrency: number, round: number, records: RequestRecord[], slo?: Slo, opts: {chunkGaps?: Stats} = {}): RoundSummary {
  const ok = records.filter((r) => r.ok)
  let start = Number.POSITIVE_INFINITY
  let end = Number.NEGATIVE_INFINITY
  // A resumed round has records from several invocations; the pause between them is not round time.
  const spans = new Map<number, {start: number; end: number}>()
  for (const r of records) {
    if (r.sentAtMs < start) start = r.sentAtMs
    if (r.endedAtMs > end) end = r.endedAtMs
    const span = spans.get(r.session ?? 1)
    if (!span) spans.set(r.session ?? 1, {start: r.sentAtMs, end: r.endedAtMs})
    else {
      if (r.sentAtMs < span.start) span.start = r.sentAtMs
      if (r.endedAtMs > span.end) span.end = r.endedAtMs
    }
  }
  let durationMs = 0
  for (const span of spans.values()) durationMs += span.end - span.start
  const durationS = Math.max(0, durationMs / 1000)
  const perS = (x: number) => (durationS > 0 ? x / durationS : 0)

  const gaps: number[] = []
  if (!opts.chunkGaps) for (const r of ok) for (const g of chunkGapsMs(r)) gaps.push(g)
  const distributions: Record<DistributionKey, Stats> = {
    ttft: summarize(ok.map(ttftMs)),
    itl: summarize(ok.map(itlMs)),
    latency: summarize(ok.map(latencyMs)),
    chunk_gap: opts.chunkGaps ?? summarize(gaps),
    input_tokens: summarize(ok.map((r) => r.inputTokens)),
    output_tokens: summarize(ok.map((r) => r.outputTokens)),
    cached_tokens: summarize(ok.map((r) => r.cachedTokens)),
    output_speed: summarize(ok.map(outputSpeedTps)),
  }

  const outputTokens = sum(ok.map((r) => r.outputTokens ?? 0))
  const inputTokens = sum(ok.map((r) => r.inputTokens ?? 0))

  let goodput: Goodput | null = null
  if (slo) {
    const met = ok.filter((r) => scoreRecord(r, slo).met)
    const metTokens = sum(met.map((r) => r.outputTokens ?? 0))
    goodput = {
      slo,
      met_requests: met.length,
      met_requests_pct: records.length > 0 ? (100 * met.length) / records.length : 0,
      met_output_tokens: metTokens,
      met_output_tokens_pct: outputTokens > 0 ? (100 * metTokens) / outputTokens : 0,
      tokens_per_s: perS(metTokens),
      requests_per_s: perS(met.length),
    }
  }

  const reporting = ok.filter((r) => r.cachedTokens !== undefined && r.inputTokens !== undefined)
  const cachedTokens = sum(reporting.map((r) => r.cachedTokens!))
  const reportedInput = sum(reporting.map((r) => r.inputTokens!))

  const failures: RoundSummary['failures'] = {}
  for (const r of records) {
    if (r.ok || !r.error) continue
    const f = (failures[r.error.category] ??= {count: 0, example: r.error.message})
    f.count++
  }

  const distinct = new Map<string, {category: FailureCategory; message: string; count: number}>()
  for (const r of records) {
    if (r.ok || !r.error) continue
    const key = `${r.error.category}\u0000${r.error.message}`
    const e = distinct.get(key) ?? {category: r.error.category, message: r.error.message, count: 0}
    e.count++
    distinct.set(key, e)
  }
  const errors = [...distinct.values()].sort((a, b) => b.count - a.count).slice(0, MAX_DISTINCT_ERRORS)

  return {
    concurrency,
    round,
    total_requests: records.length,
    successful_requests: ok.length,
    failed_requests: records.length - ok.length,
    planned_requests: records.length,
    complete: true,
    retries: {
      requests: records.filter((r) => (r.retries ?? 0) > 0).length,
      attempts: sum(records.map((r) => r.retries ?? 0)),
    },
    duration_s: durationS,
    started_at: records.length > 0 ? new Date(start).toISOString() : null,
    ended_at: records.length > 0 ? new Date(end).toISOString() : null,
    distributions,
    throughput: {
      output_tokens_per_s: perS(outputTokens),
      input_tokens_per_s: perS(inputTokens),
      total_tokens_per_s: perS(inputTokens + outputTokens),
      requests_per_s: perS(ok.length),
    },
    goodput,
    cache: {
      reported_requests: reporting.length,
      cached_tokens: cachedTokens,
      input_tokens: reportedInput,
      cached_share: reportedInput > 0 ? cachedTokens / reportedInput : null,
    },
    token_sources: {
      usage: ok.filter((r) => r.outputTokensSource === 'usage').length,
      chunks: ok.filter((r) => r.outputTokensSource === 'chunks').length,
    },
    failures,
    errors,
  }
}

/** Cold→warm comparison of one level. Speed-up = round 1 / round 2 (× faster); null when not computable. */
export interface CacheEffect {
  concurrency: number
  ttft_avg_speedup: number | null
  ttft_p50_speedup: number | null
  round1_cached_share: number | null
  round2_cached_share: number | null
}

export function cacheEffect(cold: RoundSummary, warm: RoundSummary): CacheEffect {
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null)
  return {
    concurrency: cold.concurrency,
    ttft_avg_speedup: ratio(cold.distributions.ttft.avg, warm.distributions.ttft.avg),
    ttft_p50_speedup: ratio(cold.distributions.ttft.p50, warm.distributions.ttft.p50),
    round1_cached_share: cold.cache.cached_share,
    round2_cached_share: warm.cache.cached_share,
  }
}
