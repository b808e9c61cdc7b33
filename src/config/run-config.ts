import {inputError} from '../errors.js'
import {resolveEndpoint} from '../http/endpoint.js'
import {MAX_WORKERS} from './workers.js'
import type {ApiKind} from '../http/transport.js'

/** Everything a run needs, resolved and validated. The API key lives here but is never serialised (see redact). */
export interface RunConfig {
  /** Undefined for a quick --prompt run. */
  dataset?: string
  /** Undefined: start the built-in simulator. */
  endpoint?: URL
  /** The --endpoint value as given when it was a base URL completed with the API path (run prints which URL it uses). */
  endpointGiven?: string
  api: ApiKind
  model?: string
  numSamples?: number
  concurrency: number[]
  timeoutMs: number
  maxInputLength?: number
  tokenizer?: string
  maxOutputTokens?: number
  temperature?: number
  topP?: number
  outputDir: string
  sloFile?: string
  apiKey?: string
  coldStart: 'salt' | 'none'
  cacheReset?: string
  stream: boolean
  skipInvalid: boolean
  shuffle: boolean
  seed?: number
  insecure: boolean
  prometheus?: {url: string; metrics: string[]; ratios: string[]; preset?: string; timeoutMs: number}
  force: boolean
  /** Continue the interrupted run in this directory (outputDir is the same directory). */
  resume?: string
  retries: number
  /** Abort a level once its failure share exceeds this (0..1), after MIN_REQUESTS_FOR_ERROR_RATE requests. */
  maxErrorRate?: number
  firstTokenTimeoutMs?: number
  /** 2 (cold, warm) or 1 with --single-round. */
  rounds: number
  /** Exactly this many requests per level (cycling the samples), from --requests-per-level / --num-requests. */
  requestsPerLevel?: number
  /** Quick run without a dataset (--prompt, --system). */
  prompt?: {user: string; system?: string}
  showSamples: number
  extraBody?: Record<string, unknown>
  /** Extra request headers; only their names are ever written out. */
  headers: Record<string, string>
  lang: 'en' | 'zh'
  /** Worker threads for the measured HTTP path (--workers); undefined: chosen per level by `defaultWorkers`. */
  workers?: number
  /** Rehearse the client's own code path in-process before the first level (--client-warmup, see run/client-warmup.ts). */
  clientWarmup: boolean
}

/** Flags as the command parsed them (strings/numbers), before cross-field validation. */
export interface RunFlags {
  dataset?: string
  endpoint?: string
  model?: string
  'num-samples'?: number
  concurrency?: string[]
  timeout: number
  'max-input-length'?: number
  tokenizer?: string
  'max-output-tokens'?: number
  temperature?: number
  'top-p'?: number
  'output-dir'?: string
  'slo-file'?: string
  'api-key'?: string
  'cold-start': string
  'cache-reset'?: string
  stream: boolean
  'skip-invalid': boolean
  shuffle: boolean
  seed?: number
  insecure: boolean
  'prometheus-url'?: string
  'prometheus-metrics'?: string[]
  'prometheus-ratio'?: string[]
  'prometheus-preset'?: string
  'prometheus-timeout'?: number
  force: boolean
  resume?: string
  retries?: number
  'max-error-rate'?: number
  'first-token-timeout'?: number
  workers?: number
  /** Default on in the command; undefined (a caller that did not ask) is off. */
  'client-warmup'?: boolean
  'single-round'?: boolean
  'requests-per-level'?: number
  'num-requests'?: number
  prompt?: string
  system?: string
  'show-samples'?: number
  'extra-body'?: string
  header?: string[]
  api?: string
  lang?: string
}

/** Largest concurrency a range may expand to: a typo such as 1-100000:1 should not plan a million levels. */
const MAX_LEVELS = 200

/**
 * `--concurrency 5 10 20`, `5,10,20`, and ranges: `4-32` doubles from 4 up to 32 (4,8,16,32 — the usual sweep,
 * as seed 001's `1,2,4-32`), `8-64:8` steps by 8. Positive integers, in the order given, duplicates dropped.
 */
export function parseConcurrency(values: string[] | undefined): number[] {
  if (!values || values.length === 0) return [1]
  const out: number[] = []
  const example = 'Examples: --concurrency 5 10 20, --concurrency 1,2,4-32 (doubling), --concurrency 8-64:8 (step 8)'
  for (const part of values.flatMap((v) => v.split(/[,\s]+/)).map((v) => v.trim()).filter(Boolean)) {
    const range = /^(\d+)-(\d+)(?::(\d+))?$/.exec(part)
    let expanded: number[]
    if (range) {
      const [from, to, step] = [Number(range[1]), Number(range[2]), range[3] === undefined ? undefined : Number(range[3])]
      if (from < 1 || to < from || step === 0) throw inputError(`--concurrency: "${part}" is not a valid range (from ≥ 1, to ≥ from, step ≥ 1)`, example)
      expanded = []
      for (let c = from; c <= to && expanded.length <= MAX_LEVELS; c = step === undefined ? c * 2 : c + step) expanded.push(c)
    } else if (/^\d+$/.test(part) && Number(part) >= 1) {
      expanded = [Number(part)]
    } else {
      throw inputError(`--concurrency: "${part}" is not a positive integer or range`, example)
    }
    for (const n of expanded) if (!out.includes(n)) out.push(n)
    if (out.length > MAX_LEVELS) throw inputError(`--concurrency: more than ${MAX_LEVELS} levels`, example)
  }
  if (out.length === 0) throw inputError('--concurrency: no value given', 'Example: --concurrency 5 10 20')
  return out
}

/**
 * Parses --endpoint as `check` does: a full path (…/chat/completions, …/completions, …/responses) is kept, a
 * base URL (`http://h:8000`, `…/v1`) is completed with the API path; any other path needs --api.
 */
export function parseEndpoint(value: string, api?: ApiKind): URL {
  return resolveEndpoint(value, api).endpoint
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`
}

/** Pure cross-field validation: flags (+ env-derived key) → RunConfig. */
export function buildRunConfig(flags: RunFlags, env: {apiKey?: string} = {}): RunConfig {
  if (!flags.dataset && flags.prompt === undefined) {
    throw inputError('--dataset is required (or --prompt for a quick run without a dataset)', 'Example: --dataset examples/example_dataset.jsonl')
  }
  if (flags.dataset && flags.prompt !== undefined) throw inputError('--dataset and --prompt exclude each other: give one')
  if (flags.prompt !== undefined && !flags.prompt.trim()) throw inputError('--prompt is empty')
  const api = flags.api as ApiKind | undefined
  if (api !== undefined && !['chat', 'completions', 'responses'].includes(api)) throw inputError(`--api must be chat, completions or responses, got "${api}"`)
  const resolved = flags.endpoint ? resolveEndpoint(flags.endpoint, api) : undefined
  const endpoint = resolved?.endpoint
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(v > 0)) throw inputError(`--${name} must be greater than 0, got ${v}`)
  }
  positive('num-samples', flags['num-samples'])
  positive('timeout', flags.timeout)
  positive('max-input-length', flags['max-input-length'])
  positive('max-output-tokens', flags['max-output-tokens'])
  positive('first-token-timeout', flags['first-token-timeout'])
  const workers = flags.workers
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS)) {
    throw inputError(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got ${workers}`, 'Example: --workers 4 (leave it out to choose from the core count)')
  }
  positive('requests-per-level', flags['requests-per-level'])
  positive('num-requests', flags['num-requests'])
  if (flags['requests-per-level'] !== undefined && flags['num-requests'] !== undefined && flags['requests-per-level'] !== flags['num-requests']) {
    throw inputError('--num-requests and --requests-per-level are the same setting; give one')
  }
  if (flags['show-samples'] !== undefined && flags['show-samples'] < 0) throw inputError(`--show-samples must be ≥ 0, got ${flags['show-samples']}`)
  const extraBody = parseExtraBody(flags['extra-body'])
  const headers = parseHeaders(flags.header ?? [])
  const lang = flags.lang ?? 'en'
  if (lang !== 'en' && lang !== 'zh') throw inputError(`--lang must be en or zh, got "${lang}"`)
  if (flags.retries !== undefined && (!Number.isInteger(flags.retries) || flags.retries < 0)) throw inputError(`--retries must be a whole number ≥ 0, got ${flags.retries}`)
  const maxErrorRate = flags['max-error-rate']
  if (maxErrorRate !== undefined && !(maxErrorRate >= 0 && maxErrorRate <= 1)) {
    throw inputError(`--max-error-rate must be a fraction between 0 and 1, got ${maxErrorRate}`, 'Example: --max-error-rate 0.2 (abort a level once more than 20% of its requests failed)')
  }
  if (flags.temperature !== undefined && flags.temperature < 0) throw inputError(`--temperature must be ≥ 0, got ${flags.temperature}`)
  if (flags['top-p'] !== undefined && (flags['top-p'] <= 0 || flags['top-p'] > 1)) throw inputError(`--top-p must be in (0, 1], got ${flags['top-p']}`)
  if (flags['cold-start'] !== 'salt' && flags['cold-start'] !== 'none') throw inputError(`--cold-start must be "salt" or "none"`)
  const cacheReset = flags['cache-reset']
  if (cacheReset && !['vllm', 'sglang'].includes(cacheReset) && !/^https?:\/\//.test(cacheReset)) {
    throw inputError(`--cache-reset must be vllm, sglang or a URL, got "${cacheReset}"`)
  }
  const prometheusUrl = flags['prometheus-url']
  const promNames = [...(flags['prometheus-metrics'] ?? []), ...(flags['prometheus-ratio'] ?? [])]
  if (!prometheusUrl && (promNames.length > 0 || flags['prometheus-preset'])) {
    throw inputError('--prometheus-metrics/--prometheus-ratio/--prometheus-preset need --prometheus-url', 'Example: --prometheus-url http://localhost:8000/metrics')
  }
  return {
    dataset: flags.dataset,
    endpoint,
    endpointGiven: resolved?.completed ? flags.endpoint : undefined,
    api: resolved?.api ?? api ?? 'chat',
    model: flags.model,
    numSamples: flags['num-samples'],
    concurrency: parseConcurrency(flags.concurrency),
    timeoutMs: flags.timeout * 1000,
    maxInputLength: flags['max-input-length'],
    tokenizer: flags.tokenizer,
    maxOutputTokens: flags['max-output-tokens'],
    temperature: flags.temperature,
    topP: flags['top-p'],
    outputDir: flags.resume ?? flags['output-dir'] ?? `results/${timestamp()}`,
    sloFile: flags['slo-file'],
    apiKey: flags['api-key'] ?? env.apiKey,
    coldStart: flags['cold-start'] as 'salt' | 'none',
    cacheReset,
    stream: flags.stream,
    skipInvalid: flags['skip-invalid'],
    shuffle: flags.shuffle,
    seed: flags.seed,
    insecure: flags.insecure,
    prometheus: prometheusUrl
      ? {
          url: prometheusUrl,
          metrics: flags['prometheus-metrics'] ?? [],
          ratios: flags['prometheus-ratio'] ?? [],
          preset: flags['prometheus-preset'],
          timeoutMs: (flags['prometheus-timeout'] ?? 2) * 1000,
        }
      : undefined,
    force: flags.force,
    resume: flags.resume,
    retries: flags.retries ?? 0,
    maxErrorRate,
    firstTokenTimeoutMs: flags['first-token-timeout'] === undefined ? undefined : flags['first-token-timeout'] * 1000,
    rounds: flags['single-round'] ? 1 : 2,
    // A quick --prompt run sends the prompt 50 times per level by default, like seed 000's endpoint tester.
    requestsPerLevel: flags['requests-per-level'] ?? flags['num-requests'] ?? (flags.prompt !== undefined ? 50 : undefined),
    prompt: flags.prompt !== undefined ? {user: flags.prompt, system: flags.system} : undefined,
    showSamples: flags['show-samples'] ?? 0,
    extraBody,
    headers,
    lang,
    workers,
    clientWarmup: flags['client-warmup'] === true,
  }
}

/** `--extra-body '{"ignore_eos": true}'`: a JSON object merged into every request body. */
export function parseExtraBody(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw inputError(`--extra-body is not valid JSON (${(error as Error).message})`, `Example: --extra-body '{"ignore_eos": true, "top_k": 20}'`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw inputError('--extra-body must be a JSON object', `Example: --extra-body '{"ignore_eos": true}'`)
  return value as Record<string, unknown>
}

/** `--header K:V` (repeatable) → headers. The values may be secrets: they are sent, never printed. */
export function parseHeaders(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const v of values) {
    const i = v.indexOf(':')
    const name = i > 0 ? v.slice(0, i).trim() : ''
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw inputError(`--header "${name || v.split(':')[0]}…": expected NAME:VALUE with a valid header name`, 'Example: --header X-Request-Source:benchmark')
    }
    headers[name] = v.slice(i + 1).trim()
  }
  return headers
}

/** The configuration as written to run.json / round JSON: no secret, URLs as strings. */
export function redactConfig(c: RunConfig): Record<string, unknown> {
  // endpointGiven is left out: `endpoint` already says where the requests went.
  const {apiKey, endpoint, endpointGiven: _given, headers, ...rest} = c
  return {
    ...rest,
    endpoint: endpoint?.toString() ?? null,
    api_key: apiKey ? '<redacted>' : null,
    headers: Object.fromEntries(Object.keys(headers).map((k) => [k, '<redacted>'])),
  }
}
