import {inputError} from '../errors.js'
import type {ApiKind} from '../http/transport.js'

/** Everything a run needs, resolved and validated. The API key lives here but is never serialised (see redact). */
export interface RunConfig {
  dataset: string
  /** Undefined: start the built-in simulator. */
  endpoint?: URL
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
}

/** `--concurrency 5 10 20`, `--concurrency 5,10,20`: positive integers, in the order given, duplicates kept out. */
export function parseConcurrency(values: string[] | undefined): number[] {
  if (!values || values.length === 0) return [1]
  const out: number[] = []
  for (const part of values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)) {
    if (!/^\d+$/.test(part) || Number(part) < 1) {
      throw inputError(`--concurrency: "${part}" is not a positive integer`, 'Example: --concurrency 5 10 20')
    }
    const n = Number(part)
    if (!out.includes(n)) out.push(n)
  }
  if (out.length === 0) throw inputError('--concurrency: no value given', 'Example: --concurrency 5 10 20')
  return out
}

/** Chat or completions, from the endpoint path. */
export function apiOf(endpoint: URL): ApiKind {
  return /\/completions\/?$/.test(endpoint.pathname) && !/\/chat\/completions\/?$/.test(endpoint.pathname) ? 'completions' : 'chat'
}

export function parseEndpoint(value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw inputError(`--endpoint "${value}" is not a URL`, 'Example: --endpoint http://localhost:8000/v1/chat/completions')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw inputError(`--endpoint must be http:// or https://, got ${url.protocol}`)
  }
  if (!/\/completions\/?$/.test(url.pathname)) {
    throw inputError(
      `--endpoint ${url.origin}${url.pathname}: expected the full path of the API, ending in /v1/chat/completions or /v1/completions`,
      `Try: --endpoint ${url.origin}/v1/chat/completions`,
    )
  }
  return url
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`
}

/** Pure cross-field validation: flags (+ env-derived key) → RunConfig. */
export function buildRunConfig(flags: RunFlags, env: {apiKey?: string} = {}): RunConfig {
  if (!flags.dataset) throw inputError('--dataset is required', 'Example: --dataset examples/example_dataset.jsonl')
  const endpoint = flags.endpoint ? parseEndpoint(flags.endpoint) : undefined
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(v > 0)) throw inputError(`--${name} must be greater than 0, got ${v}`)
  }
  positive('num-samples', flags['num-samples'])
  positive('timeout', flags.timeout)
  positive('max-input-length', flags['max-input-length'])
  positive('max-output-tokens', flags['max-output-tokens'])
  positive('first-token-timeout', flags['first-token-timeout'])
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
    api: endpoint ? apiOf(endpoint) : 'chat',
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
  }
}

/** The configuration as written to run.json / round JSON: no secret, URLs as strings. */
export function redactConfig(c: RunConfig): Record<string, unknown> {
  const {apiKey, endpoint, ...rest} = c
  return {...rest, endpoint: endpoint?.toString() ?? null, api_key: apiKey ? '<redacted>' : null}
}
