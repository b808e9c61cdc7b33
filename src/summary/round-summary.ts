import type {PrometheusHealth, RoundPrometheus} from '../metrics/probe.js'
import type {EventLoopStats} from '../perf/event-loop.js'
import {ValuePool} from '../perf/value-pool.js'
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
  /** Keep-alive health (absent in summaries read back from files of older versions). */
  connections?: ConnectionStats
}

/**
 * Every level's connections are opened before its clock starts, so a measured request normally reuses one. One that
 * had to open its own (the server or a proxy closed the kept-alive connection) has that connect inside its TTFT.
 * Requests that never got as far as a connection (cancelled before sending, a test transport) count in neither.
 */
export interface ConnectionStats {
  reused: number
  opened: number
  /** Connect time (TCP, plus TLS for https) of the requests that opened one. */
  connect_ms: Stats
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
  const opened = records.filter((r) => r.reusedConnection === false)
  const connections: ConnectionStats = {
    reused: records.filter((r) => r.reusedConnection === true).length,
    opened: opened.length,
    connect_ms: summarize(opened.map((r) => r.connectMs)),
  }

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
    connections,
  }
}

/** Output-token source codes of {@link RoundColumns}: 0 = none. */
const TOKEN_SOURCE_CODE = {usage: 1, chunks: 2} as const

/**
 * One round's requests reduced to what its summary needs, by plan index, in typed arrays (~90 bytes per request
 * whatever the record carries), so a 100 000-request round never keeps 100 000 record objects. Every derived value
 * is computed once, with the same functions {@link summarizeRound} uses, and stored as the same float64; a missing
 * value is NaN, which `summarize` skips as it skips `undefined`. {@link summarizeColumns} walks the indices in plan
 * order, so order-sensitive results (the first failure message as a category's example, ties among distinct errors,
 * the per-session duration sum) come out bit-identical to {@link summarizeRound} over the same records.
 *
 * Distinct error messages are interned (one string each), so memory grows with distinct messages, not failures.
 */
export class RoundColumns {
  /** Per plan index: 0 = not finished, 1 = ok, 2 = failed. */
  readonly state: Uint8Array
  /** Derived metrics per plan index (NaN: not observed). `ttft` is also the paired speed-up's input. */
  readonly ttft: Float64Array
  readonly itl: Float64Array
  readonly latency: Float64Array
  readonly outputSpeed: Float64Array
  readonly inputTokens: Float64Array
  readonly outputTokens: Float64Array
  readonly cachedTokens: Float64Array
  readonly sentAtMs: Float64Array
  readonly endedAtMs: Float64Array
  readonly session: Uint32Array
  readonly retries: Uint32Array
  readonly tokenSource: Uint8Array
  /** 1 when the request met the SLO given to the constructor. */
  readonly sloMet: Uint8Array
  /** Per plan index: 0 = no connection info, 1 = reused a kept-alive connection, 2 = opened one (see ConnectionStats). */
  readonly connection: Uint8Array
  /** Connect time of a request that opened a connection (NaN otherwise). */
  readonly connectMs: Float64Array
  /** Index into `errorKinds` per plan index; -1: no error object. */
  readonly errorId: Int32Array
  /** Distinct (category, message) pairs in order of first sighting. */
  readonly errorKinds: {category: FailureCategory; message: string}[] = []
  /** Finished requests; `finished - cancelled` is what counts towards a complete round. */
  finished = 0
  cancelled = 0
  /** Successful streams of two or more content chunks, and those of them whose chunks all came in one read. */
  readonly streams = {multiChunk: 0, oneRead: 0}
  /** Chunk gaps of the successful requests, pooled as they arrive (memory-bounded, see ValuePool). */
  readonly chunkGaps = new ValuePool()
  private readonly errorIds = new Map<string, number>()
  private readonly prometheus = new Map<string, Float64Array>()

  /** `size`: the round's planned requests (indices 0 … size−1); `slo`: scored as each request is added. */
  constructor(
    readonly size: number,
    readonly slo?: Slo,
  ) {
    const f64 = () => new Float64Array(size).fill(Number.NaN)
    this.state = new Uint8Array(size)
    this.ttft = f64()
    this.itl = f64()
    this.latency = f64()
    this.outputSpeed = f64()
    this.inputTokens = f64()
    this.outputTokens = f64()
    this.cachedTokens = f64()
    this.sentAtMs = f64()
    this.endedAtMs = f64()
    this.session = new Uint32Array(size)
    this.retries = new Uint32Array(size)
    this.tokenSource = new Uint8Array(size)
    this.sloMet = new Uint8Array(size)
    this.errorId = new Int32Array(size).fill(-1)
    this.connection = new Uint8Array(size)
    this.connectMs = f64()
  }

  /** Adds one finished request (each plan index once). Pools its chunk gaps; keeps no reference to the record. */
  add(r: RequestRecord): void {
    const i = r.index
    if (!(i >= 0 && i < this.size)) throw new RangeError(`record index ${i} outside the round's ${this.size} planned requests`)
    if (this.state[i] !== 0) throw new Error(`plan index ${i} of round ${r.round} was added twice`)
    this.finished++
    if (r.error?.category === 'cancelled') this.cancelled++
    this.state[i] = r.ok ? 1 : 2
    const num = (x: number | undefined) => (x === undefined ? Number.NaN : x)
    this.ttft[i] = num(ttftMs(r))
    this.itl[i] = num(itlMs(r))
    this.latency[i] = num(latencyMs(r))
    this.outputSpeed[i] = num(outputSpeedTps(r))
    this.inputTokens[i] = num(r.inputTokens)
    this.outputTokens[i] = num(r.outputTokens)
    this.cachedTokens[i] = num(r.cachedTokens)
    this.sentAtMs[i] = r.sentAtMs
    this.endedAtMs[i] = r.endedAtMs
    this.session[i] = r.session ?? 1
    this.retries[i] = r.retries ?? 0
    this.tokenSource[i] = r.outputTokensSource ? TOKEN_SOURCE_CODE[r.outputTokensSource] : 0
    this.sloMet[i] = this.slo && scoreRecord(r, this.slo).met ? 1 : 0
    this.connection[i] = r.reusedConnection === true ? 1 : r.reusedConnection === false ? 2 : 0
    this.connectMs[i] = r.reusedConnection === false ? num(r.connectMs) : Number.NaN
    if (r.error) {
      const key = `${r.error.category}\u0000${r.error.message}`
      let id = this.errorIds.get(key)
      if (id === undefined) {
        id = this.errorKinds.length
        this.errorKinds.push({category: r.error.category, message: r.error.message})
        this.errorIds.set(key, id)
      }
      this.errorId[i] = id
    }
    if (r.ok && r.chunkOffsetsMs) this.chunkGaps.addGaps(r.chunkOffsetsMs)
    if (r.ok && r.firstTokenAtMs !== undefined && r.contentChunks !== undefined && r.contentChunks >= 2) {
      this.streams.multiChunk++
      if (r.lastTokenAtMs === r.firstTokenAtMs) this.streams.oneRead++
    }
    if (r.prometheus) {
      for (const [name, value] of Object.entries(r.prometheus)) {
        let column = this.prometheus.get(name)
        if (!column) this.prometheus.set(name, (column = new Float64Array(this.size).fill(Number.NaN)))
        column[i] = value ?? Number.NaN
      }
    }
  }

  /** Per-request values of one Prometheus metric/ratio by plan index (NaN: none); undefined if no request had it. */
  prometheusValues(name: string): Float64Array | undefined {
    return this.prometheus.get(name)
  }
}

/**
 * Pure: {@link summarizeRound} over compact columns — the same summary, field for field, as over the records that
 * were added (chunk gaps from the columns' pool; `complete`/`planned_requests` are set by the caller, as there).
 */
export function summarizeColumns(concurrency: number, round: number, c: RoundColumns): RoundSummary {
  const n = c.size
  let total = 0
  let okCount = 0
  let start = Number.POSITIVE_INFINITY
  let end = Number.NEGATIVE_INFINITY
  const spans = new Map<number, {start: number; end: number}>()
  let outputTokens = 0
  let inputTokens = 0
  let metCount = 0
  let metTokens = 0
  let reported = 0
  let cachedTokens = 0
  let reportedInput = 0
  let usage = 0
  let chunks = 0
  let retried = 0
  let attempts = 0
  const failures: RoundSummary['failures'] = {}
  const distinctCounts = new Map<number, number>()
  // The ok requests' values in plan order, as summarizeRound's `ok.map(…)`.
  const okValues = (column: Float64Array) => {
    const out = new Float64Array(okCount)
    let k = 0
    for (let i = 0; i < n; i++) if (c.state[i] === 1) out[k++] = column[i]
    return out
  }
  for (let i = 0; i < n; i++) {
    const state = c.state[i]
    if (state === 0) continue
    total++
    const sent = c.sentAtMs[i]
    const ended = c.endedAtMs[i]
    if (sent < start) start = sent
    if (ended > end) end = ended
    const span = spans.get(c.session[i])
    if (!span) spans.set(c.session[i], {start: sent, end: ended})
    else {
      if (sent < span.start) span.start = sent
      if (ended > span.end) span.end = ended
    }
    if (c.retries[i] > 0) retried++
    attempts += c.retries[i]
    if (state === 1) {
      okCount++
      const out = c.outputTokens[i]
      const inp = c.inputTokens[i]
      const cached = c.cachedTokens[i]
      outputTokens += Number.isNaN(out) ? 0 : out
      inputTokens += Number.isNaN(inp) ? 0 : inp
      if (c.sloMet[i] === 1) {
        metCount++
        metTokens += Number.isNaN(out) ? 0 : out
      }
      if (!Number.isNaN(cached) && !Number.isNaN(inp)) {
        reported++
        cachedTokens += cached
        reportedInput += inp
      }
      if (c.tokenSource[i] === TOKEN_SOURCE_CODE.usage) usage++
      else if (c.tokenSource[i] === TOKEN_SOURCE_CODE.chunks) chunks++
    } else if (c.errorId[i] >= 0) {
      const kind = c.errorKinds[c.errorId[i]]
      const f = (failures[kind.category] ??= {count: 0, example: kind.message})
      f.count++
      distinctCounts.set(c.errorId[i], (distinctCounts.get(c.errorId[i]) ?? 0) + 1)
    }
  }
  let durationMs = 0
  for (const span of spans.values()) durationMs += span.end - span.start
  const durationS = Math.max(0, durationMs / 1000)
  const perS = (x: number) => (durationS > 0 ? x / durationS : 0)

  const distributions: Record<DistributionKey, Stats> = {
    ttft: summarize(okValues(c.ttft)),
    itl: summarize(okValues(c.itl)),
    latency: summarize(okValues(c.latency)),
    chunk_gap: c.chunkGaps.stats(),
    input_tokens: summarize(okValues(c.inputTokens)),
    output_tokens: summarize(okValues(c.outputTokens)),
    cached_tokens: summarize(okValues(c.cachedTokens)),
    output_speed: summarize(okValues(c.outputSpeed)),
  }

  const goodput: Goodput | null = c.slo
    ? {
        slo: c.slo,
        met_requests: metCount,
        met_requests_pct: total > 0 ? (100 * metCount) / total : 0,
        met_output_tokens: metTokens,
        met_output_tokens_pct: outputTokens > 0 ? (100 * metTokens) / outputTokens : 0,
        tokens_per_s: perS(metTokens),
        requests_per_s: perS(metCount),
      }
    : null

  // Map iteration follows first sighting in plan order, as summarizeRound's; the sort is stable.
  // Plan order, as summarizeRound's records.
  let reused = 0
  const connectMs: number[] = [] // NaN (a connect not timed) is skipped by summarize, as undefined is there
  for (let i = 0; i < n; i++) {
    if (c.connection[i] === 1) reused++
    else if (c.connection[i] === 2) connectMs.push(c.connectMs[i])
  }
  const connections: ConnectionStats = {reused, opened: connectMs.length, connect_ms: summarize(connectMs)}

  const errors = [...distinctCounts]
    .map(([id, count]) => ({...c.errorKinds[id], count}))
    .sort((a, b) => b.count - a.count)
    .slice(0, MAX_DISTINCT_ERRORS)

  return {
    concurrency,
    round,
    total_requests: total,
    successful_requests: okCount,
    failed_requests: total - okCount,
    planned_requests: total,
    complete: true,
    retries: {requests: retried, attempts},
    duration_s: durationS,
    started_at: total > 0 ? new Date(start).toISOString() : null,
    ended_at: total > 0 ? new Date(end).toISOString() : null,
    distributions,
    throughput: {
      output_tokens_per_s: perS(outputTokens),
      input_tokens_per_s: perS(inputTokens),
      total_tokens_per_s: perS(inputTokens + outputTokens),
      requests_per_s: perS(okCount),
    },
    goodput,
    cache: {
      reported_requests: reported,
      cached_tokens: cachedTokens,
      input_tokens: reportedInput,
      cached_share: reportedInput > 0 ? cachedTokens / reportedInput : null,
    },
    token_sources: {usage, chunks},
    failures,
    errors,
    connections,
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
