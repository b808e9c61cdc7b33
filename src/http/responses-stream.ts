/**
 * Pure meaning layer for the OpenAI Responses API (`POST /v1/responses`): one SSE `data` string, or one
 * non-streaming JSON body, → updates to the same `StreamState` that openai-stream.ts fills for chat and
 * completions, with the same return values. The transport can therefore pick the reducer by API kind and
 * keep everything else (time stamps, settling, records) unchanged.
 *
 * Event names and shapes follow the OpenAI API reference ("Responses streaming events") and openai-python's
 * `types/responses/*_event.py`. Every event's JSON carries its `type`, so the SSE `event:` line is redundant
 * and not needed here. Unlike chat, the stream has no `[DONE]`: it ends with `response.completed`,
 * `response.incomplete` or `response.failed`, and usage is only in the final `response` object.
 */
import {addToPreview, errorMessageOf, parseBodyObject, parseEventData, type StreamEffect, type StreamState} from './openai-stream.js'
import {clip, ERROR_MESSAGE_CHARS} from './clip.js'

/** Event types whose `delta` is generated text. Reasoning counts: it is output, and it is what arrives first. */
const TEXT_DELTA_EVENTS = new Set([
  'response.output_text.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
  'response.refusal.delta',
  // A function call's arguments are generated output too.
  'response.function_call_arguments.delta',
])

/**
 * Applies one Responses streaming event's data to `state`. Text deltas are 'content'; `response.completed`
 * and `response.incomplete` read usage and status and are 'done'; `response.failed` and `error` events are
 * 'error' (category server_error_event); a data line that is not a JSON object is 'error' (malformed_sse).
 * A stray `[DONE]` (some proxies append one) is accepted as the end too.
 */
export function applyResponsesStreamEvent(state: StreamState, data: string): StreamEffect {
  const e = parseEventData(state, data)
  if (typeof e === 'string') return e
  const type = e.type
  if (typeof type === 'string' && TEXT_DELTA_EVENTS.has(type)) {
    if (typeof e.delta !== 'string' || e.delta === '') return 'none'
    // The reasoning itself, not a summary of it: its tokens are then visible in the stream (see derive.ts, itlMs).
    if (type === 'response.reasoning_text.delta') state.reasoningStreamed = true
    return addText(state, e.delta)
  }
  switch (type) {
    case 'response.completed':
    case 'response.incomplete':
      applyResponseObject(state, e.response)
      state.done = true
      return 'done'
    case 'response.failed':
      applyResponseObject(state, e.response)
      state.error = {category: 'server_error_event', message: clip(failureMessage(e.response) ?? 'response.failed event in stream', ERROR_MESSAGE_CHARS)}
      return 'error'
    case 'error':
      state.error = {category: 'server_error_event', message: clip(errorMessageOf(e) ?? 'error event in stream', ERROR_MESSAGE_CHARS)}
      return 'error'
  }
  // A chat-style `{"error": …}` object from a proxy in front of the server.
  if (type === undefined && (e.error != null || e.object === 'error')) {
    state.error = {category: 'server_error_event', message: clip(errorMessageOf(e) ?? 'error event in stream', ERROR_MESSAGE_CHARS)}
    return 'error'
  }
  return 'none'
}

/**
 * Applies a whole non-streaming Responses body (`stream: false`): a `response` object whose `output` items
 * hold the text (`message` → `output_text` parts; `reasoning` → `summary`/`content` text), plus usage and status.
 * A `failed` status or an error body is 'error'; otherwise 'content' when there was text, else 'none'
 * (as `applyResponseBody` does for chat).
 */
export function applyResponsesBody(state: StreamState, text: string): StreamEffect {
  const b = parseBodyObject(state, text)
  if (b === 'error') return b
  if (b.status === 'failed' || (b.error != null && b.output === undefined) || b.object === 'error') {
    applyResponseObject(state, b)
    state.error = {category: 'server_error_event', message: clip(failureMessage(b) ?? errorMessageOf(b) ?? 'the response failed', ERROR_MESSAGE_CHARS)}
    return 'error'
  }
  let effect: StreamEffect = 'none'
  if (Array.isArray(b.output)) {
    for (const item of b.output) {
      for (const part of textPartsOf(item)) if (addText(state, part) === 'content') effect = 'content'
    }
  }
  applyResponseObject(state, b)
  return effect
}

function addText(state: StreamState, text: string): StreamEffect {
  state.contentChunks++
  addToPreview(state, text)
  return 'content'
}

/** The texts of one output item in order: reasoning summary/content first, then message content parts. */
function textPartsOf(item: unknown): string[] {
  if (item === null || typeof item !== 'object') return []
  const it = item as Record<string, any>
  const out: string[] = []
  const collect = (parts: unknown) => {
    if (!Array.isArray(parts)) return
    for (const p of parts) {
      if (p != null && typeof p === 'object' && typeof p.text === 'string' && p.text !== '') out.push(p.text)
      else if (p != null && typeof p === 'object' && typeof p.refusal === 'string' && p.refusal !== '') out.push(p.refusal)
    }
  }
  if (it.type === 'reasoning') collect(it.summary)
  collect(it.content)
  if (it.type === 'function_call') {
    const call = `${typeof it.name === 'string' ? it.name : ''}${typeof it.arguments === 'string' ? it.arguments : ''}`
    if (call !== '') out.push(call)
  }
  return out
}

/**
 * Usage and finish reason from a `response` object. The status is mapped onto chat's finish_reason words
 * (completed → stop, incomplete for max_output_tokens → length) so summaries count both APIs alike.
 */
function applyResponseObject(state: StreamState, response: unknown): void {
  if (response === null || typeof response !== 'object') return
  const r = response as Record<string, any>
  const usage = r.usage
  if (usage != null && typeof usage === 'object') {
    if (isCount(usage.output_tokens)) state.outputTokens = usage.output_tokens
    if (isCount(usage.input_tokens)) state.inputTokens = usage.input_tokens
    const reasoning = usage.output_tokens_details?.reasoning_tokens
    if (isCount(reasoning)) state.reasoningTokens = reasoning
    const cached = usage.input_tokens_details?.cached_tokens
    if (isCount(cached)) {
      state.cachedTokens = cached
      state.cachedTokensSource = 'usage.input_tokens_details.cached_tokens'
    }
  }
  const status = r.status
  if (status === 'completed') state.finishReason = 'stop'
  else if (status === 'incomplete') {
    const reason = r.incomplete_details?.reason
    state.finishReason = reason === 'max_output_tokens' ? 'length' : typeof reason === 'string' && reason !== '' ? reason : 'incomplete'
  } else if (typeof status === 'string' && status !== '' && status !== 'in_progress' && status !== 'queued') {
    state.finishReason = status
  }
}

/** `response.error.message` (with its code) of a failed response. */
function failureMessage(response: unknown): string | undefined {
  if (response === null || typeof response !== 'object') return undefined
  const err = (response as Record<string, any>).error
  if (err == null || typeof err !== 'object') return undefined
  const message = typeof err.message === 'string' ? err.message.trim() : ''
  const code = typeof err.code === 'string' ? err.code : ''
  if (message && code) return `${code}: ${message}`
  return message || code || undefined
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}
