import type {ChatMessage, Sample} from '../dataset/sample.js'
import type {ApiKind} from './transport.js'

/** Everything besides the sample that shapes a request body. */
export interface RequestBodyOptions {
  api: ApiKind
  model: string
  /** Overrides the sample's own `maxTokens` (the --max-output-tokens flag). */
  maxTokens?: number
  /**
   * The chat/completions field that carries the output cap. Default `max_tokens`; `max_completion_tokens` for
   * servers that reject the older name (OpenAI's reasoning models), found by the run's preflight. Also used
   * whenever `extraBody` sets `max_completion_tokens`, so the two are never sent together.
   */
  maxTokensField?: MaxTokensField
  temperature?: number
  topP?: number
  stream: boolean
  /**
   * Ask for a final usage chunk (`stream_options.include_usage`); only sent when `stream` is true. Ignored
   * for the Responses API, which always reports usage in its `response.completed` event.
   */
  includeUsage: boolean
  /**
   * A short unique line such as `[run 3f9a2c]`, prepended as its own line to the first message (or the
   * prompt). A fresh salt per concurrency level keeps that level's round 1 cold even though an earlier
   * level already sent the same samples; round 2 reuses the same bytes, so it is warm.
   */
  salt?: string
  /**
   * Extra top-level fields (e.g. `{"ignore_eos": true}`). They may override sampling fields but not the
   * fields the measurement depends on: `model`, `messages`/`prompt`/`input`, `stream`, `stream_options`.
   */
  extraBody?: Record<string, unknown>
}

/** Names a chat/completions request may use for the output-token cap. */
export type MaxTokensField = 'max_tokens' | 'max_completion_tokens'

/** Fields owned by the benchmark itself; `extraBody` cannot replace them. */
const RESERVED_FIELDS = new Set(['model', 'messages', 'prompt', 'input', 'stream', 'stream_options'])

/** Separator used to turn chat messages into one completions prompt. */
export const PROMPT_SEPARATOR = '\n\n'

/**
 * The request body bytes for one sample. Pure and deterministic: the same sample, options and salt give
 * byte-identical output, which is what makes round 2 hit the prefix cache round 1 filled.
 *
 * Chat sends `messages`, completions a joined `prompt`, and the Responses API (`/v1/responses`) the same
 * messages as `input` items with `max_output_tokens`.
 */
export function buildRequestBody(sample: Sample, opts: RequestBodyOptions): Buffer {
  const body: Record<string, unknown> = {model: opts.model}
  const messages = saltMessages(sample.messages, opts.salt)
  if (opts.api === 'chat') body.messages = messages
  else if (opts.api === 'responses') body.input = messages
  else body.prompt = messages.length > 0 ? joinMessages(messages) : (opts.salt ?? '')

  const maxTokens = opts.maxTokens ?? sample.maxTokens
  // `max_tokens` rather than OpenAI's newer `max_completion_tokens`: vLLM, SGLang, llama.cpp and TGI all
  // accept it on both APIs, while the newer name is rejected by several of them. OpenAI's reasoning models
  // reject `max_tokens`, hence `maxTokensField`. The Responses API only knows `max_output_tokens`.
  if (maxTokens !== undefined) body[opts.api === 'responses' ? 'max_output_tokens' : maxTokensFieldOf(opts)] = maxTokens
  if (opts.temperature !== undefined) body.temperature = opts.temperature
  if (opts.topP !== undefined) body.top_p = opts.topP
  if (opts.extraBody) {
    for (const [key, value] of Object.entries(opts.extraBody)) if (!RESERVED_FIELDS.has(key)) body[key] = value
  }

  body.stream = opts.stream
  if (opts.stream && opts.includeUsage && opts.api !== 'responses') body.stream_options = {include_usage: true}
  return Buffer.from(JSON.stringify(body), 'utf8')
}

/**
 * The field {@link buildRequestBody} puts the output cap in for chat/completions: `max_completion_tokens` when
 * asked to, or when the extra body sets it (a server that wants it rejects `max_tokens`, and extra fields
 * can add but not remove one); otherwise `max_tokens`. O(1), since it runs for every request body.
 */
export function maxTokensFieldOf(opts: Pick<RequestBodyOptions, 'maxTokensField' | 'extraBody'>): MaxTokensField {
  if (opts.extraBody !== undefined && Object.prototype.hasOwnProperty.call(opts.extraBody, 'max_completion_tokens')) return 'max_completion_tokens'
  return opts.maxTokensField ?? 'max_tokens'
}

/** The completions-API prompt for a list of messages: contents joined by a blank line. */
export function joinMessages(messages: readonly ChatMessage[]): string {
  let prompt = ''
  for (let i = 0; i < messages.length; i++) prompt += (i === 0 ? '' : PROMPT_SEPARATOR) + messages[i].content
  return prompt
}

function saltMessages(messages: readonly ChatMessage[], salt: string | undefined): ChatMessage[] {
  if (!salt || messages.length === 0) return messages.map((m) => ({role: m.role, content: m.content}))
  return messages.map((m, i) => ({role: m.role, content: i === 0 ? `${salt}\n${m.content}` : m.content}))
}

/**
 * The first `n` characters of the prompt (salt excluded) with runs of whitespace folded to one space, so
 * it fits on one line of a table or CSV cell. Never cut inside a surrogate pair.
 */
export function promptPreview(sample: Sample, n = 80): string {
  const folded = joinMessages(sample.messages).replace(/\s+/g, ' ').trim()
  if (folded.length <= n) return folded
  const last = folded.charCodeAt(n - 1)
  return folded.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n)
}
