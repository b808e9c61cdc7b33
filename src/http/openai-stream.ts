import type {CachedTokenSource, RequestError} from '../record/record.js'
import {clip, ERROR_MESSAGE_CHARS} from './clip.js'
import {ChunkScanner, SCAN_FALLBACK, SCAN_NONE, type TextSink} from './chunk-scan.js'

/**
 * Pure meaning layer: one SSE `data` string (or one non-streaming JSON body) → updates to a small mutable
 * state. Mutating one state object instead of returning a fresh result per event keeps the per-chunk
 * cost to the JSON.parse itself; this runs once per generated token on the measured path.
 */

/** Generated text kept for `outputPreview`. */
export const OUTPUT_PREVIEW_CHARS = 200

/** What one event did, so the transport knows whether to stamp a token time or stop. */
export type StreamEffect = 'content' | 'none' | 'done' | 'error'

/** Accumulated meaning of one response. */
export interface StreamState {
  /** Chunks with generated output: content, reasoning, refusal or tool-call text (all of it is generated). */
  contentChunks: number
  /**
   * Start of the generated text (reasoning and content in arrival order), capped at OUTPUT_PREVIEW_CHARS — in
   * `previewChars` instead when the state has them: read it with previewOf.
   */
  outputPreview: string
  /** Where a stream gathers its preview without a string per chunk (see PreviewChars); undefined: in outputPreview. */
  previewChars: PreviewChars | undefined
  finishReason?: string
  /** `[DONE]` seen. */
  done: boolean
  /** usage.completion_tokens, from the last chunk that had it. */
  outputTokens?: number
  /** usage.prompt_tokens. */
  inputTokens?: number
  cachedTokens?: number
  cachedTokensSource?: CachedTokenSource
  /**
   * usage.completion_tokens_details.reasoning_tokens (Responses: usage.output_tokens_details.reasoning_tokens): part of
   * outputTokens that OpenAI's o-series / gpt-5 generate but never stream.
   */
  reasoningTokens?: number
  /** Reasoning text arrived in the stream (vLLM/SGLang `reasoning_content`, Responses reasoning_text deltas). */
  reasoningStreamed: boolean
  /** Set when the stream itself reported a failure; the transport turns it into the record's error. */
  error?: {category: 'malformed_sse' | 'server_error_event'; message: string}
}

/** A fresh state for one response. */
export function createStreamState(previewChars?: PreviewChars): StreamState {
  return {contentChunks: 0, outputPreview: '', previewChars, done: false, reasoningStreamed: false}
}

/** The state's preview text. */
export function previewOf(state: StreamState): string {
  return state.previewChars === undefined ? state.outputPreview : state.previewChars.toString()
}

/**
 * A stream's preview, gathered into a buffer that the streams of one connection slot reuse (measured-transport.ts).
 * Built as strings, a stream's preview was a new string per chunk until it was full — ≈ 7 kB of garbage per stream
 * of 4-character tokens, the largest share of what the client still allocated once chunks were read in place — and
 * one more string per stream for every young-generation collection to copy.
 */
export class PreviewChars implements TextSink {
  private readonly chars = new Uint16Array(OUTPUT_PREVIEW_CHARS)
  private length = 0

  get full(): boolean {
    return this.length >= OUTPUT_PREVIEW_CHARS
  }

  clear(): void {
    this.length = 0
  }

  add(text: string): void {
    let n = this.length
    const end = Math.min(text.length, OUTPUT_PREVIEW_CHARS - n)
    for (let k = 0; k < end; k++) this.chars[n++] = text.charCodeAt(k)
    this.length = n
  }

  /** Adds UTF-8 `bytes[start, end)`: ASCII is copied as it is, the first other byte on is decoded. */
  addUtf8(bytes: Buffer, start: number, end: number): void {
    let n = this.length
    let k = start
    for (; k < end && n < OUTPUT_PREVIEW_CHARS && bytes[k] < 0x80; k++) this.chars[n++] = bytes[k]
    this.length = n
    if (k < end && n < OUTPUT_PREVIEW_CHARS) this.add(bytes.toString('utf8', k, end))
  }

  toString(): string {
    return this.length === 0 ? '' : String.fromCharCode.apply(null, this.chars.subarray(0, this.length) as unknown as number[])
  }
}

/**
 * Applies an SSE event the server typed as an error (`event: error`, or llama.cpp's `error: {…}` line, see sse.ts):
 * the request failed even though the HTTP status was 200. The message is the server's own, from whatever JSON shape
 * it used, else the raw data.
 */
export function applyErrorEvent(state: StreamState, data: string): 'error' {
  let body: unknown = data
  try {
    body = JSON.parse(data)
  } catch {
    // Not JSON: the data itself is the message.
  }
  state.error = {category: 'server_error_event', message: clip(errorMessageOf(body) ?? (data.trim() || 'error event in stream'), ERROR_MESSAGE_CHARS)}
  return 'error'
}

/**
 * At `[DONE]`: the failure of a stream that ended without generating anything and without saying why (a role chunk
 * then `[DONE]`), else undefined. A finish_reason makes an empty answer legitimate (max_tokens 0, an immediate stop).
 * Checked once at the end, not per chunk.
 */
export function emptyStreamError(state: StreamState): RequestError | undefined {
  if (state.contentChunks > 0 || state.finishReason !== undefined) return undefined
  // 'other': nothing in the stream was an error or malformed, it just held no answer.
  return {category: 'other', message: 'the stream ended ([DONE]) without any output or finish_reason'}
}

/**
 * Applies one SSE event's data to `state`. Handles `[DONE]`, chat deltas (`content`, `reasoning_content`,
 * `reasoning`, `refusal`, `tool_calls`), completions `text`, usage in any chunk (llama.cpp puts usage and timings in the final
 * chunk alongside finish_reason and a non-empty `choices`, so nothing is skipped because another field
 * was present), in-stream `{"error": …}` objects and malformed JSON.
 */
export function applyStreamEvent(state: StreamState, data: string): StreamEffect {
  const chunk = parseEventData(state, data)
  return typeof chunk === 'string' ? chunk : applyChunk(state, chunk, false)
}

const scanner = new ChunkScanner()

/**
 * applyStreamEvent for an event's data still in bytes, `bytes[start, end)` (see sse.ts): the common content chunk is
 * read in place (chunk-scan.ts) and only a preview that is not yet full takes a string from it; any other event is
 * decoded and parsed as applyStreamEvent does. The result and the state are the same either way.
 */
export function applyStreamEventBytes(state: StreamState, bytes: Buffer, start: number, end: number): StreamEffect {
  const found = scanner.scan(bytes, start, end)
  if (found === SCAN_FALLBACK) return applyStreamEvent(state, bytes.toString('utf8', start, end))
  if (found === SCAN_NONE) return 'none'
  if (scanner.reasoning) state.reasoningStreamed = true
  state.contentChunks++
  const chars = state.previewChars
  if (chars !== undefined) {
    if (!chars.full) scanner.addText(bytes, chars)
  } else if (state.outputPreview.length < OUTPUT_PREVIEW_CHARS) {
    addToPreview(state, scanner.text(bytes))
  }
  return 'content'
}

/**
 * The first step shared by the chat/completions and Responses reducers: `[DONE]` ends the stream, a blank data
 * line is nothing, anything else must be a JSON object (else the stream failed as malformed_sse).
 */
export function parseEventData(state: StreamState, data: string): Record<string, any> | 'done' | 'none' | 'error' {
  // Cheap pre-check: every JSON chunk starts with '{'; only the rare non-object needs a closer look.
  if (data.charCodeAt(0) !== 123 /* { */) {
    const trimmed = data.trim()
    if (trimmed === '[DONE]') {
      state.done = true
      return 'done'
    }
    if (trimmed === '') return 'none'
  }
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    state.error = {category: 'malformed_sse', message: `data line is not JSON: ${clip(data, 120)}`}
    return 'error'
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    state.error = {category: 'malformed_sse', message: `data line is not a JSON object: ${clip(data, 120)}`}
    return 'error'
  }
  return value as Record<string, any>
}

/**
 * Applies a whole non-streaming response body (`stream: false`): the same fields, read from
 * `choices[0].message` instead of `delta`.
 */
export function applyResponseBody(state: StreamState, text: string): StreamEffect {
  const body = parseBodyObject(state, text)
  return body === 'error' ? body : applyChunk(state, body, true)
}

/** A whole non-streaming body as a JSON object, or 'error' (malformed_sse) — shared by the chat and Responses readers. */
export function parseBodyObject(state: StreamState, text: string): Record<string, any> | 'error' {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    state.error = {category: 'malformed_sse', message: `response body is not JSON: ${clip(text, 120)}`}
    return 'error'
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    state.error = {category: 'malformed_sse', message: `response body is not a JSON object: ${clip(text, 120)}`}
    return 'error'
  }
  return body as Record<string, any>
}

/**
 * Appends generated text to the preview until it is OUTPUT_PREVIEW_CHARS long. Without PreviewChars, the preview is
 * made flat each time: `a + b` is a rope node pointing at both, so a preview grown token by token was a chain of one node and one token
 * string per chunk, alive all stream long; at 256 streams those chains were a large part of what every young-generation
 * collection copied (its pause stops the event loop, and first tokens arriving meanwhile are stamped late).
 */
export function addToPreview(state: StreamState, text: string): void {
  if (state.previewChars !== undefined) return state.previewChars.add(text)
  if (state.outputPreview.length >= OUTPUT_PREVIEW_CHARS) return
  const preview = (state.outputPreview + text).slice(0, OUTPUT_PREVIEW_CHARS)
  // Reading a character flattens a rope in place (V8 copies it into one string); the pieces become garbage.
  preview.charCodeAt(0)
  state.outputPreview = preview
}

function applyChunk(state: StreamState, chunk: Record<string, any>, whole: boolean): StreamEffect {
  // vLLM and OpenAI wrap it as {"error": {...}}; older vLLM sends a bare ErrorResponse {"object": "error"}.
  if (chunk.error != null || chunk.object === 'error') {
    state.error = {category: 'server_error_event', message: clip(errorMessageOf(chunk) ?? 'error event in stream', ERROR_MESSAGE_CHARS)}
    return 'error'
  }

  let effect: StreamEffect = 'none'
  const choices = chunk.choices
  const choice = Array.isArray(choices) && choices.length > 0 ? choices[0] : undefined
  if (choice != null && typeof choice === 'object') {
    const part = whole ? choice.message : choice.delta
    let text: unknown
    if (part != null && typeof part === 'object') {
      text = nonEmpty(part.reasoning_content) ?? nonEmpty(part.reasoning)
      if (text !== undefined) state.reasoningStreamed = true
      // Tool-call arguments and refusals are generated output too: a response that only calls a tool has its
      // first token, its inter-token gaps and its chunk count in them.
      const content = nonEmpty(part.content) ?? nonEmpty(part.refusal) ?? toolCallText(part)
      // A chunk may carry both a reasoning tail and the first content; keep both in the preview.
      if (content !== undefined) text = text === undefined ? content : (text as string) + content
    }
    if (text === undefined) text = nonEmpty(choice.text)
    if (text !== undefined) {
      state.contentChunks++
      addToPreview(state, text as string)
      effect = 'content'
    }
    const finish = choice.finish_reason
    if (typeof finish === 'string' && finish !== '') state.finishReason = finish
  }

  if (chunk.usage != null || chunk.timings != null || chunk.meta_info != null) applyUsage(state, chunk)
  return effect
}

/**
 * The generated text of a message's or delta's tool calls (`tool_calls[].function` name and arguments, or the
 * legacy `function_call`), or undefined when there is none.
 */
function toolCallText(part: Record<string, any>): string | undefined {
  const calls = part.tool_calls
  if (calls == null && part.function_call == null) return undefined
  let text = ''
  for (const call of Array.isArray(calls) ? calls : [{function: part.function_call}]) {
    const fn = call?.function
    if (fn == null || typeof fn !== 'object') continue
    if (typeof fn.name === 'string') text += fn.name
    if (typeof fn.arguments === 'string') text += fn.arguments
  }
  return text === '' ? undefined : text
}

/** Token counts and cached-token count, recording which server convention supplied the latter. */
function applyUsage(state: StreamState, chunk: Record<string, any>): void {
  const usage = chunk.usage
  const timings = chunk.timings
  if (usage != null && typeof usage === 'object') {
    if (isCount(usage.completion_tokens)) state.outputTokens = usage.completion_tokens
    if (isCount(usage.prompt_tokens)) state.inputTokens = usage.prompt_tokens
    const reasoning = usage.completion_tokens_details?.reasoning_tokens
    if (isCount(reasoning)) state.reasoningTokens = reasoning
  }

  const details = usage?.prompt_tokens_details
  if (details != null && isCount(details.cached_tokens)) {
    state.cachedTokens = details.cached_tokens
    state.cachedTokensSource = 'usage.prompt_tokens_details.cached_tokens'
  } else if (timings != null && isCount(timings.cache_n)) {
    state.cachedTokens = timings.cache_n
    state.cachedTokensSource = 'timings.cache_n'
  } else if (chunk.meta_info != null && isCount(chunk.meta_info.cached_tokens)) {
    state.cachedTokens = chunk.meta_info.cached_tokens
    state.cachedTokensSource = 'meta_info.cached_tokens'
  } else if (timings != null && isCount(timings.prompt_n) && isCount(usage?.prompt_tokens) && usage.prompt_tokens >= timings.prompt_n) {
    // Older llama.cpp has no cache_n: prompt_n counts only the prompt tokens it had to evaluate.
    state.cachedTokens = usage.prompt_tokens - timings.prompt_n
    state.cachedTokensSource = 'usage.prompt_tokens-timings.prompt_n'
  }
}

/** The human message of an error object in any of the shapes servers use; undefined if none found. */
export function errorMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() || undefined
  if (body === null || typeof body !== 'object') return undefined
  const b = body as Record<string, any>
  const err = b.error
  if (typeof err === 'string' && err.trim() !== '') return err.trim()
  if (err != null && typeof err === 'object' && typeof err.message === 'string') return err.message.trim()
  if (typeof b.message === 'string' && b.message.trim() !== '') return b.message.trim()
  // FastAPI/pydantic validation errors: {"detail": [{"loc": ["body", "stream_options"], "msg": "..."}]}
  const detail = b.detail
  if (typeof detail === 'string') return detail.trim()
  if (Array.isArray(detail) && detail.length > 0) {
    return detail
      .map((d) => {
        if (d == null || typeof d !== 'object') return String(d)
        const loc = Array.isArray(d.loc) ? d.loc.join('.') : undefined
        return loc ? `${loc}: ${d.msg ?? ''}` : String(d.msg ?? JSON.stringify(d))
      })
      .join('; ')
  }
  return undefined
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}
