import type {SimApi} from './protocol.js'
import type {UsageStyle} from './options.js'

/**
 * Output vocabulary: each entry is one token of the simulator's tokenizer, plain ASCII so it can be spliced
 * into a pre-serialised JSON template without escaping.
 */
export const OUTPUT_WORDS: readonly string[] = (
  'the cache holds every block of the prompt so the second request skips most of the prefill and the first ' +
  'token comes back sooner while decoding keeps a steady pace across all streams of this simulated server ' +
  'which answers with plain words one token at a time until it reaches the requested length'
).split(' ').map((w) => ' ' + w)

/** The i-th output token of a completion whose text starts at vocabulary offset `offset`. */
export function outputWord(offset: number, i: number): string {
  return OUTPUT_WORDS[(offset + i) % OUTPUT_WORDS.length]
}

/** Token accounting of one request, as reported back to the client. */
export interface UsageNumbers {
  promptTokens: number
  cachedTokens: number
  completionTokens: number
  /** Prefill time and decode time, for llama.cpp's `timings`. */
  promptMs: number
  predictedMs: number
}

/** OpenAI-shape `usage`, with the llama.cpp variant lacking prompt_tokens_details. */
export function usageObject(u: UsageNumbers, style: UsageStyle): Record<string, unknown> {
  const base = {prompt_tokens: u.promptTokens, total_tokens: u.promptTokens + u.completionTokens, completion_tokens: u.completionTokens}
  return style === 'llamacpp' ? base : {...base, prompt_tokens_details: {cached_tokens: u.cachedTokens}}
}

/** llama.cpp's `timings`: cache_n = prompt tokens reused, prompt_n = prompt tokens computed. */
export function timingsObject(u: UsageNumbers): Record<string, number> {
  const promptN = u.promptTokens - u.cachedTokens
  const perSecond = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0)
  return {
    cache_n: u.cachedTokens,
    prompt_n: promptN,
    prompt_ms: u.promptMs,
    prompt_per_token_ms: promptN > 0 ? u.promptMs / promptN : 0,
    prompt_per_second: perSecond(promptN, u.promptMs),
    predicted_n: u.completionTokens,
    predicted_ms: u.predictedMs,
    predicted_per_token_ms: u.completionTokens > 0 ? u.predictedMs / u.completionTokens : 0,
    predicted_per_second: perSecond(u.completionTokens, u.predictedMs),
  }
}

export const DONE_EVENT = 'data: [DONE]\n\n'

/**
 * SSE frames for one streaming response, shaped like vLLM's chunks. The per-token frame is two
 * pre-serialised halves around the token text, so the hot path is one string concatenation.
 */
/** Keys servers add to their chunks, for SimOptions.shapeVariety. */
const VARIETY_KEYS = ['system_fingerprint', 'service_tier', 'stop_reason', 'matched_stop', 'kv_transfer_params', 'prompt_logprobs', 'obfuscation', 'metadata']

/** The extra key of response number `seq` under SimOptions.shapeVariety. */
export function varietyKey(seq: number): string {
  return VARIETY_KEYS[seq % VARIETY_KEYS.length]!
}

export class StreamFrames {
  private readonly tokenHead: string
  private readonly tokenTail: string
  private readonly header: Record<string, unknown>

  /** `extraKey`: one more key (null) in every frame but the token frames, at each level (see SimOptions.shapeVariety). */
  constructor(readonly api: SimApi, id: string, created: number, model: string, private readonly extraKey?: string) {
    this.header = {id, object: api === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model}
    const head = JSON.stringify(this.header).slice(0, -1)
    if (api === 'chat') {
      this.tokenHead = `data: ${head},"choices":[{"index":0,"delta":{"content":"`
      this.tokenTail = '"},"logprobs":null,"finish_reason":null}]}\n\n'
    } else {
      this.tokenHead = `data: ${head},"choices":[{"index":0,"text":"`
      this.tokenTail = '","logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n'
    }
  }

  /** vLLM's opening chat frame: the assistant role with empty content. Completions have none. */
  roleFrame(): string | undefined {
    if (this.api !== 'chat') return undefined
    return this.frame({choices: [{index: 0, delta: {role: 'assistant', content: ''}, logprobs: null, finish_reason: null}]})
  }

  /** A content frame; `word` must be JSON-safe (see OUTPUT_WORDS). */
  token(word: string): string {
    return this.tokenHead + word + this.tokenTail
  }

  /** The last content frame, carrying finish_reason as vLLM does, plus any extension fields. */
  lastToken(word: string, finishReason: string, extra: Record<string, unknown> = {}): string {
    const choice = this.api === 'chat'
      ? {index: 0, delta: {content: word}, logprobs: null, finish_reason: finishReason}
      : {index: 0, text: word, logprobs: null, finish_reason: finishReason, stop_reason: null}
    return this.frame({choices: [this.withExtra(choice)], ...extra})
  }

  /** llama.cpp's closing frame: empty delta with finish_reason, usage and timings. */
  finishFrame(finishReason: string, extra: Record<string, unknown>): string {
    const choice = this.api === 'chat'
      ? {index: 0, delta: {}, logprobs: null, finish_reason: finishReason}
      : {index: 0, text: '', logprobs: null, finish_reason: finishReason, stop_reason: null}
    return this.frame({choices: [this.withExtra(choice)], ...extra})
  }

  /** OpenAI's usage frame (`choices: []`), sent when stream_options.include_usage. */
  usageFrame(usage: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
    return this.frame({choices: [], usage: this.withExtra(usage), ...extra})
  }

  /** A frame that is not valid JSON, for the garbage fault. */
  garbageFrame(): string {
    return `${this.tokenHead}${OUTPUT_WORDS[0]}"},"finish_reason":nul\n\n`
  }

  private frame(body: Record<string, unknown>): string {
    return `data: ${JSON.stringify(this.withExtra({...this.header, ...body}))}\n\n`
  }

  private withExtra(value: Record<string, unknown>): Record<string, unknown> {
    return this.extraKey === undefined ? value : {...value, [this.extraKey]: null}
  }
}

/** Error event some servers send mid-stream instead of a content chunk. */
export function errorEventFrame(message: string): string {
  return `data: ${JSON.stringify({error: {message, type: 'server_error', param: null, code: 500}})}\n\n`
}

/** A non-streaming response body. */
export function completionBody(args: {
  api: SimApi
  id: string
  created: number
  model: string
  text: string
  finishReason: string
  usage?: Record<string, unknown>
  timings?: Record<string, unknown>
}): Record<string, unknown> {
  const choice = args.api === 'chat'
    ? {index: 0, message: {role: 'assistant', content: args.text}, logprobs: null, finish_reason: args.finishReason}
    : {index: 0, text: args.text, logprobs: null, finish_reason: args.finishReason, stop_reason: null}
  const body: Record<string, unknown> = {
    id: args.id,
    object: args.api === 'chat' ? 'chat.completion' : 'text_completion',
    created: args.created,
    model: args.model,
    choices: [choice],
  }
  if (args.usage) body.usage = args.usage
  if (args.timings) body.timings = args.timings
  return body
}
