/**
 * The I/O of `dual-bench check`: GET the model list, then one tiny streamed request through the same
 * measured transport `run` uses, and gather the facts diagnose.ts turns into advice.
 */
import type {Sample} from '../dataset/sample.js'
import {listModels, modelsUrlOf} from '../http/control.js'
import {createMeasuredTransport, isStreamOptionsRejection} from '../http/measured-transport.js'
import {buildRequestBody, promptPreview} from '../http/request-body.js'
import type {ApiKind} from '../http/transport.js'
import {nowMs} from '../record/clock.js'
import {latencyMs, ttftMs} from '../record/derive.js'
import type {RequestError, RequestRecord, TokenSource} from '../record/record.js'
import {diagnose, isConnectionProblem, problemOfControlError, type CheckFacts, type DiagnosisLine, type Problem} from './diagnose.js'

/** The question the check asks: short, so the answer is quick and cheap. */
export const CHECK_PROMPT = 'Reply with one short sentence: are you ready?'
/** Enough for a short sentence, and above the Responses API's minimum of 16. */
export const CHECK_MAX_TOKENS = 32

/** What to check and how. */
export interface CheckOptions {
  endpoint: URL
  api: ApiKind
  apiKey?: string
  /** --model or MODEL_NAME; without it the first model the server lists is used. */
  model?: string
  modelSource?: 'flag' | 'env'
  insecure?: boolean
  /** Whole-request timeout of each step. */
  timeoutMs: number
}

/** The outcome, shaped for `--json` (numbers in ms, never the API key). */
export interface CheckResult {
  /** The test request succeeded (exit 0). */
  ok: boolean
  endpoint: string
  api: ApiKind
  apiKeySent: boolean
  models: {url: string; ok: boolean; ids: string[]; ms: number; error?: string}
  model?: string
  modelSource?: 'flag' | 'env' | 'server'
  request?: {
    ok: boolean
    /** The answer came as an SSE stream (false: one JSON body). */
    streamed: boolean
    ttftMs?: number
    latencyMs?: number
    inputTokens?: number
    outputTokens?: number
    outputTokensSource?: TokenSource
    cachedTokens?: number
    finishReason?: string
    outputPreview?: string
    error?: RequestError
  }
  /** The first attempt's stream_options were rejected; the request was resent without them. */
  streamOptionsRejected?: boolean
  diagnosis: DiagnosisLine[]
}

/** Runs the check. Never throws for a server-side problem: those are in `diagnosis`. */
export async function runCheck(opts: CheckOptions): Promise<CheckResult> {
  const modelsUrl = modelsUrlOf(opts.endpoint)
  const control = {apiKey: opts.apiKey, timeoutMs: opts.timeoutMs, insecure: opts.insecure}

  const modelsStart = nowMs()
  let models: CheckFacts['models']
  try {
    models = {ok: true, ids: await listModels(opts.endpoint, control)}
  } catch (error) {
    models = {ok: false, problem: problemOfControlError(error)}
  }
  const modelsMs = nowMs() - modelsStart

  let model = opts.model
  let modelSource: CheckFacts['modelSource'] = opts.model !== undefined ? (opts.modelSource ?? 'flag') : undefined
  if (model === undefined && models.ok && models.ids.length > 0) {
    model = models.ids[0]
    modelSource = 'server'
  }

  let record: RequestRecord | undefined
  let streamOptionsRejected = false
  const unreachable = !models.ok && isConnectionProblem(models.problem)
  if (model !== undefined && !unreachable) {
    record = await sendTestRequest(opts, model, true)
    if (opts.api !== 'responses' && isStreamOptionsRejection(record)) {
      streamOptionsRejected = true
      record = await sendTestRequest(opts, model, false)
    }
  }

  const facts: CheckFacts = {
    endpoint: opts.endpoint,
    api: opts.api,
    modelsUrl,
    apiKeySent: Boolean(opts.apiKey),
    insecure: Boolean(opts.insecure),
    timeoutMs: opts.timeoutMs,
    models,
    model,
    modelSource,
    record,
    streamOptionsRejected,
  }
  return {
    ok: record?.ok === true,
    endpoint: opts.endpoint.href,
    api: opts.api,
    apiKeySent: facts.apiKeySent,
    models: {url: modelsUrl.href, ok: models.ok, ids: models.ok ? models.ids : [], ms: modelsMs, ...(models.ok ? {} : {error: problemText(models.problem)})},
    ...(model !== undefined ? {model, modelSource} : {}),
    ...(record ? {request: requestSummary(record)} : {}),
    ...(streamOptionsRejected ? {streamOptionsRejected} : {}),
    diagnosis: diagnose(facts),
  }
}

/** One streamed request through the measured transport, exactly as a run would send it. */
async function sendTestRequest(opts: CheckOptions, model: string, includeUsage: boolean): Promise<RequestRecord> {
  const sample: Sample = {id: 'check', messages: [{role: 'user', content: CHECK_PROMPT}], maxTokens: CHECK_MAX_TOKENS}
  const body = buildRequestBody(sample, {api: opts.api, model, stream: true, includeUsage})
  const transport = createMeasuredTransport({
    endpoint: opts.endpoint,
    apiKey: opts.apiKey,
    timeoutMs: opts.timeoutMs,
    insecure: opts.insecure,
    maxSockets: 1,
    api: opts.api,
    stream: true,
  })
  try {
    return await transport.send(
      {level: 1, round: 1, index: 0, sampleId: sample.id, promptPreview: promptPreview(sample), body},
      {queuedAtMs: nowMs()},
    )
  } finally {
    await transport.close()
  }
}

function requestSummary(r: RequestRecord): NonNullable<CheckResult['request']> {
  const out: NonNullable<CheckResult['request']> = {ok: r.ok, streamed: r.chunkOffsetsMs !== undefined}
  const ttft = ttftMs(r)
  const latency = latencyMs(r)
  if (ttft !== undefined) out.ttftMs = ttft
  if (latency !== undefined) out.latencyMs = latency
  if (r.inputTokens !== undefined) out.inputTokens = r.inputTokens
  if (r.outputTokens !== undefined) {
    out.outputTokens = r.outputTokens
    out.outputTokensSource = r.outputTokensSource
  }
  if (r.cachedTokens !== undefined) out.cachedTokens = r.cachedTokens
  if (r.finishReason !== undefined) out.finishReason = r.finishReason
  if (r.outputPreview !== undefined) out.outputPreview = r.outputPreview
  if (r.error) out.error = r.error
  return out
}

function problemText(p: Problem): string {
  return p.status ? `HTTP ${p.status}: ${p.detail}` : p.detail
}
