/**
 * Pure: the text of run.json and of a round JSON → typed values. `file` is only used in messages; every
 * error is an input error (exit 2) naming the file and, for a schema problem, the JSON path.
 */
import {z} from 'zod'
import {inputError} from '../errors.js'
import type {RoundPrometheus} from '../metrics/probe.js'
import type {FailureCategory} from '../record/record.js'
import {DISTRIBUTION_METRICS, type DistributionKey, type RoundSummary} from '../summary/round-summary.js'
import {STAT_KEYS, type Stats} from '../summary/stats.js'
import type {FailedRequest, LoadedSummary, RunInfo} from './model.js'

/** At most this many failed requests per round are kept for the report (the round JSON has them all). */
export const MAX_FAILED_REQUESTS = 20

const num = z.number()
const optNum = z.number().nullable().optional()

const statsSchema = z
  .object(Object.fromEntries(STAT_KEYS.map((k) => [k, optNum])) as Record<(typeof STAT_KEYS)[number], typeof optNum>)
  .extend({count: z.number().optional()})
  .passthrough()

const sloSchema = z.object({ttft_ms: num.optional(), itl_ms: num.optional(), latency_ms: num.optional()}).passthrough()

const runSchema = z
  .object({
    tool: z.string(),
    version: z.string(),
    started_at: z.string().nullable().optional(),
    ended_at: z.string().nullable().optional(),
    configuration: z.object({concurrency: z.array(num).optional()}).passthrough(),
    dataset: z.object({path: z.string(), sha256: z.string().nullable().optional(), samples: num.nullable().optional()}).passthrough().nullable().optional(),
    salts: z.record(z.string().nullable()).optional(),
    slo: sloSchema.nullable().optional(),
    simulator: z.object({url: z.string().optional(), note: z.string().optional()}).passthrough().nullable().optional(),
  })
  .passthrough()

const goodputSchema = z
  .object({
    slo: sloSchema.optional(),
    met_requests: num,
    met_requests_pct: num.nullable(),
    met_output_tokens: num,
    met_output_tokens_pct: num.nullable(),
    tokens_per_s: num.nullable(),
    requests_per_s: num.nullable(),
  })
  .passthrough()

const flatStatKeys = DISTRIBUTION_METRICS.flatMap((m) => STAT_KEYS.map((k) => `${k}_${m.key}`))

const flatSummarySchema = z
  .object({
    total_requests: num,
    successful_requests: num,
    failed_requests: num,
    duration_s: num.nullable(),
    started_at: z.string().nullable().optional(),
    ended_at: z.string().nullable().optional(),
    ...Object.fromEntries(flatStatKeys.map((k) => [k, optNum])),
    output_throughput: num.nullable(),
    request_throughput: num.nullable(),
    input_throughput: optNum,
    total_token_throughput: optNum,
    goodput: goodputSchema.nullable().optional(),
    cache: z
      .object({reported_requests: num.optional(), cached_tokens: num, input_tokens: num, cached_share: num.nullable()})
      .passthrough()
      .optional(),
    token_sources: z.object({usage: num, chunks: num}).optional(),
    failures: z.record(z.object({count: num, example: z.string()}).passthrough()).optional(),
    prometheus: z
      .object({
        names: z.array(z.string()).optional(),
        round: z
          .object({
            values: z.record(num.nullable()),
            types: z.record(z.string().nullable()).optional(),
            resets: z.array(z.string()).optional(),
            scrapes: z.object({start: num, end: num, startOk: z.boolean(), endOk: z.boolean()}).optional(),
          })
          .passthrough(),
        per_request: z.record(statsSchema).optional(),
        health: z
          .object({scrapes: num, failures: num, resets: num, requestsWithoutScrape: num, failureByKind: z.record(num).optional()})
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough()

const requestSchema = z
  .object({
    index: num.optional(),
    sample_id: z.string().nullable().optional(),
    prompt: z.string().nullable().optional(),
    success: z.boolean(),
    error: z.string().nullable().optional(),
  })
  .passthrough()

const roundSchema = z
  .object({
    configuration: z.object({concurrency: num, round: num}).passthrough(),
    summary: flatSummarySchema,
    requests: z.array(requestSchema).optional(),
  })
  .passthrough()

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw inputError(`${file}: not valid JSON (${(error as Error).message})`, 'Re-run `dual-bench run` to regenerate it, or restore the file.')
  }
}

function validate<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, file: string, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)'
  throw inputError(
    `${file}: not a dual-bench ${what} — at ${where}: ${issue.message}`,
    'Pass the output directory of `dual-bench run` (it holds run.json and concurrency_<C>_round_<R>.json).',
  )
}

/** run.json → RunInfo. */
export function parseRunJson(text: string, file: string): RunInfo {
  const r = validate(runSchema, parseJson(text, file), file, 'run.json')
  return {
    tool: r.tool,
    version: r.version,
    started_at: r.started_at ?? null,
    ended_at: r.ended_at ?? null,
    configuration: r.configuration,
    dataset: r.dataset ? {path: r.dataset.path, sha256: r.dataset.sha256 ?? null, samples: r.dataset.samples ?? null} : null,
    salts: r.salts ?? {},
    slo: r.slo ?? null,
    simulator: r.simulator ?? null,
  }
}

export interface ParsedRound {
  concurrency: number
  round: number
  summary: LoadedSummary
  failedRequests: FailedRequest[]
}

const toStats = (s: Record<string, unknown>, count: number): Stats => {
  const stats = Object.fromEntries(STAT_KEYS.map((k) => [k, typeof s[k] === 'number' ? s[k] : null])) as Omit<Stats, 'count'>
  const hasData = STAT_KEYS.some((k) => stats[k] !== null)
  return {count: hasData ? count : 0, ...stats}
}

/** `concurrency_<C>_round_<R>.json` → the round's summary (as a RoundSummary) and its first failed requests. */
export function parseRoundJson(text: string, file: string): ParsedRound {
  const r = validate(roundSchema, parseJson(text, file), file, 'round JSON')
  const s = r.summary as z.infer<typeof flatSummarySchema> & Record<string, number | null | undefined>
  const {concurrency, round} = r.configuration
  const ok = s.successful_requests
  const distributions = Object.fromEntries(
    DISTRIBUTION_METRICS.map((m) => [m.key, toStats(Object.fromEntries(STAT_KEYS.map((k) => [k, s[`${k}_${m.key}`]])), ok)]),
  ) as Record<DistributionKey, Stats>
  const summary: LoadedSummary = {
    concurrency,
    round,
    total_requests: s.total_requests,
    successful_requests: ok,
    failed_requests: s.failed_requests,
    planned_requests: typeof s.planned_requests === 'number' ? s.planned_requests : s.total_requests,
    complete: (r.summary as {complete?: unknown}).complete !== false,
    retries: (r.summary as {retries?: RoundSummary['retries']}).retries ?? {requests: 0, attempts: 0},
    errors: (r.summary as {errors?: RoundSummary['errors']}).errors ?? [],
    duration_s: s.duration_s ?? 0,
    started_at: s.started_at ?? null,
    ended_at: s.ended_at ?? null,
    distributions,
    throughput: {
      output_tokens_per_s: s.output_throughput ?? 0,
      input_tokens_per_s: s.input_throughput ?? 0,
      total_tokens_per_s: s.total_token_throughput ?? 0,
      requests_per_s: s.request_throughput ?? 0,
    },
    goodput: s.goodput
      ? {
          slo: s.goodput.slo ?? {},
          met_requests: s.goodput.met_requests,
          met_requests_pct: s.goodput.met_requests_pct ?? 0,
          met_output_tokens: s.goodput.met_output_tokens,
          met_output_tokens_pct: s.goodput.met_output_tokens_pct ?? 0,
          tokens_per_s: s.goodput.tokens_per_s ?? 0,
          requests_per_s: s.goodput.requests_per_s ?? 0,
        }
      : null,
    cache: {
      reported_requests: s.cache?.reported_requests ?? 0,
      cached_tokens: s.cache?.cached_tokens ?? 0,
      input_tokens: s.cache?.input_tokens ?? 0,
      cached_share: s.cache?.cached_share ?? null,
    },
    token_sources: s.token_sources ?? {usage: 0, chunks: 0},
    failures: (s.failures ?? {}) as LoadedSummary['failures'] & Record<FailureCategory, {count: number; example: string}>,
  }
  if (s.prometheus) {
    const p = s.prometheus
    const perRequest: Record<string, Stats> = {}
    for (const [name, st] of Object.entries(p.per_request ?? {})) perRequest[name] = toStats(st, st.count ?? ok)
    const names = p.names ?? [...new Set([...Object.keys(p.round.values), ...Object.keys(perRequest)])]
    summary.prometheus = {
      names,
      round: {
        values: p.round.values,
        types: (p.round.types ?? {}) as RoundPrometheus['types'],
        resets: p.round.resets ?? [],
        scrapes: p.round.scrapes ?? {start: -1, end: -1, startOk: false, endOk: false},
        before: (p.round.before ?? {}) as RoundPrometheus['before'],
        after: (p.round.after ?? {}) as RoundPrometheus['after'],
      },
      per_request: perRequest,
      health: {
        scrapes: p.health?.scrapes ?? 0,
        failures: p.health?.failures ?? 0,
        failureByKind: p.health?.failureByKind ?? {},
        resets: p.health?.resets ?? 0,
        requestsWithoutScrape: p.health?.requestsWithoutScrape ?? 0,
      },
    }
  }
  const failedRequests: FailedRequest[] = (r.requests ?? [])
    .filter((q) => !q.success)
    .slice(0, MAX_FAILED_REQUESTS)
    .map((q) => ({index: q.index ?? -1, sampleId: q.sample_id ?? null, prompt: q.prompt ?? null, error: q.error ?? null}))
  return {concurrency, round, summary, failedRequests}
}
