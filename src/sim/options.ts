import {inputError} from '../errors.js'

/** How the simulator reports token usage, modelled on the servers dual-bench meets in practice. */
export type UsageStyle = 'openai' | 'llamacpp' | 'none'

/** Knobs of the built-in OpenAI-compatible simulator. Every field is optional; see {@link SIM_DEFAULTS}. */
export interface SimOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string
  /** Port to listen on; 0 picks a free one (default 0). */
  port?: number
  /** Model name served by /v1/models; requests naming another model get 404 like vLLM (default 'dual-bench-sim'). */
  model?: string
  /** Tokens per KV-cache block, the unit of prefix reuse (default 16, vLLM's default). */
  blockSize?: number
  /** LRU capacity of the prefix cache in blocks. */
  cacheBlocks?: number
  /** Fixed part of TTFT (scheduling + first decode step), paid even on a full cache hit. */
  baseTtftMs?: number
  /** Prefill cost per UNCACHED prompt token. */
  prefillMsPerToken?: number
  /** Steady inter-token latency. */
  itlMs?: number
  /** Output length when the request sets no max_tokens. */
  defaultOutputTokens?: number
  /** Prefill runs one request at a time like one GPU, so TTFT grows with concurrency (default true). */
  serialPrefill?: boolean
  /** Answer 400 when the body has stream_options, like servers that forbid extra fields. */
  rejectStreamOptions?: boolean
  /**
   * openai: usage (with prompt_tokens_details.cached_tokens) in a final `choices: []` chunk when
   * stream_options.include_usage; llamacpp: always usage + timings in the chunk carrying finish_reason;
   * none: never any usage.
   */
  usageStyle?: UsageStyle
  /**
   * Give each response's frames but its plain token frames one more key (null), from a rotating set of keys real
   * servers add (system_fingerprint, stop_reason, …), at the chunk's, the choice's and usage's level. For the client
   * warm-up: code that reads parsed chunks is then optimized for chunks of many shapes, not for the simulator's one.
   */
  shapeVariety?: boolean
  /** Probability of an HTTP 500 answer. */
  failRate?: number
  /** Probability of the socket being destroyed after a few tokens. */
  dropRate?: number
  /** Probability of one invalid-JSON `data:` line mid-stream, after which the stream ends without [DONE]. */
  garbageRate?: number
  /** Probability of waiting `slowMs` more before the first token. */
  slowRate?: number
  /** Probability of a `data: {"error":...}` event mid-stream (then [DONE]). */
  errorEventRate?: number
  /** Extra delay before the first token for a slow request. */
  slowMs?: number
  /** Seed of the fault PRNG; same seed + same arrival order = same faults. */
  seed?: number
}

/** SimOptions with every default filled in. */
export type ResolvedSimOptions = Required<SimOptions>

/**
 * Defaults chosen to make a demo obvious: a 2.5k-token prompt costs 10 + 2500 × 0.08 = 210 ms cold and ~11 ms
 * warm; 48 tokens at 7 ms ITL stream in about a third of a second.
 */
export const SIM_DEFAULTS: ResolvedSimOptions = {
  host: '127.0.0.1',
  port: 0,
  model: 'dual-bench-sim',
  blockSize: 16,
  cacheBlocks: 16384,
  baseTtftMs: 10,
  prefillMsPerToken: 0.08,
  itlMs: 7,
  defaultOutputTokens: 48,
  serialPrefill: true,
  rejectStreamOptions: false,
  usageStyle: 'openai',
  shapeVariety: false,
  failRate: 0,
  dropRate: 0,
  garbageRate: 0,
  slowRate: 0,
  errorEventRate: 0,
  slowMs: 2000,
  seed: 42,
}

const RATE_KEYS = ['failRate', 'dropRate', 'garbageRate', 'slowRate', 'errorEventRate'] as const
const USAGE_STYLES: readonly UsageStyle[] = ['openai', 'llamacpp', 'none']

/** Fills defaults and rejects impossible values with an error that names the option. Pure. */
export function resolveSimOptions(opts: SimOptions = {}): ResolvedSimOptions {
  const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as SimOptions
  const o: ResolvedSimOptions = {...SIM_DEFAULTS, ...defined}
  const intAtLeast = (key: keyof SimOptions, min: number) => {
    const v = o[key] as number
    if (!Number.isInteger(v) || v < min) throw inputError(`simulator option ${key} must be an integer >= ${min}, got ${v}`)
  }
  const nonNegative = (key: keyof SimOptions) => {
    const v = o[key] as number
    if (!Number.isFinite(v) || v < 0) throw inputError(`simulator option ${key} must be a number >= 0, got ${v}`)
  }
  intAtLeast('port', 0)
  if (o.port > 65535) throw inputError(`simulator option port must be <= 65535, got ${o.port}`)
  intAtLeast('blockSize', 1)
  intAtLeast('cacheBlocks', 0)
  intAtLeast('defaultOutputTokens', 1)
  intAtLeast('seed', 0)
  for (const key of ['baseTtftMs', 'prefillMsPerToken', 'itlMs', 'slowMs'] as const) nonNegative(key)
  for (const key of RATE_KEYS) {
    nonNegative(key)
    if (o[key] > 1) throw inputError(`simulator option ${key} must be between 0 and 1, got ${o[key]}`)
  }
  if (!USAGE_STYLES.includes(o.usageStyle)) {
    throw inputError(`simulator option usageStyle must be one of ${USAGE_STYLES.join(', ')}, got ${o.usageStyle}`)
  }
  if (o.model.trim() === '') throw inputError('simulator option model must not be empty')
  return o
}
