/**
 * The wire format of the simulator's OpenAI Responses API endpoint (`POST /v1/responses`), streaming and
 * non-streaming: request parsing and frames only. The lifecycle is the chat path's (request-run.ts, run by
 * SimEngine.handle): the same prefix cache, prefill queue, token clock, metrics, /sim/stats counters and
 * fault injection, so a Responses request costs exactly what the same messages cost on /v1/chat/completions
 * (the prompt is rendered with the same chat template, so the two APIs even share cached blocks).
 *
 * Event names and shapes follow the OpenAI reference ("Responses streaming events"): `event: <type>` plus
 * `data: <json with the same type and a sequence_number>`; the stream ends with `response.completed` (or
 * `response.incomplete` when max_output_tokens cut it), never with `[DONE]`. Faults in this format: garbage
 * is a delta whose JSON is cut short; errorEvent is the API's `error` event, after which the stream ends.
 */
import {OUTPUT_WORDS, type UsageNumbers} from './chunks.js'
import {isObject, jsonObjectBody, type SimError} from './protocol.js'
import type {RunRequest, RunWriter, SimDialect} from './request-run.js'
import {renderChatPrompt, tokenize, type SimMessage} from './tokenize.js'

/** A validated Responses request, reduced to what the simulator acts on. `maxTokens` is max_output_tokens. */
export type ResponsesRequest = RunRequest

export type ResponsesParseResult = {ok: true; request: ResponsesRequest} | {ok: false; error: SimError}

const bad = (message: string, param?: string): ResponsesParseResult => ({ok: false, error: {status: 400, message, type: 'invalid_request_error', param}})

/** Input item content: a string, or content parts of type input_text / output_text / text. */
function itemText(content: unknown): string | undefined {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return undefined
  let text = ''
  for (const part of content) {
    if (!isObject(part)) return undefined
    if ((part.type === 'input_text' || part.type === 'output_text' || part.type === 'text') && typeof part.text === 'string') text += part.text
    else if (typeof part.type !== 'string') return undefined
    // Other part types (images, files) carry no text the simulated tokenizer could count.
  }
  return text
}

/**
 * Validates a Responses request body like the real API does (400 for bad JSON, missing `input`, wrong
 * types) and tokenizes the prompt: `instructions` as a leading system message, then the input messages. Pure.
 */
export function parseResponsesBody(raw: string): ResponsesParseResult {
  const json = jsonObjectBody(raw, 'invalid_request_error')
  if (!json.ok) return json
  const body = json.body
  const messages: SimMessage[] = []
  if (body.instructions !== undefined && body.instructions !== null) {
    if (typeof body.instructions !== 'string') return bad('instructions must be a string', 'instructions')
    messages.push({role: 'system', content: body.instructions})
  }
  const input = body.input
  if (input === undefined || input === null) return bad("Missing required parameter: 'input'.", 'input')
  if (typeof input === 'string') {
    messages.push({role: 'user', content: input})
  } else if (Array.isArray(input) && input.length > 0) {
    for (const [i, item] of input.entries()) {
      if (!isObject(item)) return bad(`input[${i}] must be an object`, 'input')
      if (item.type !== undefined && item.type !== 'message') return bad(`input[${i}].type: only message items are simulated, got ${JSON.stringify(item.type)}`, 'input')
      if (typeof item.role !== 'string') return bad(`input[${i}] must have a string "role"`, 'input')
      const text = itemText(item.content)
      if (text === undefined) return bad(`input[${i}].content must be a string or an array of content parts`, 'input')
      messages.push({role: item.role, content: text})
    }
  } else {
    return bad('input must be a string or a non-empty array of input items', 'input')
  }

  if (body.model !== undefined && typeof body.model !== 'string') return bad('model must be a string', 'model')
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') return bad('stream must be a boolean', 'stream')
  const max = body.max_output_tokens
  if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) {
    return bad(`max_output_tokens must be an integer >= 1, got ${JSON.stringify(max)}`, 'max_output_tokens')
  }
  return {
    ok: true,
    request: {
      model: body.model as string | undefined,
      promptTokens: tokenize(renderChatPrompt(messages)),
      maxTokens: (max ?? undefined) as number | undefined,
      stream: body.stream === true,
    },
  }
}

/** The Responses API `usage` object. */
export function responsesUsage(u: UsageNumbers): Record<string, unknown> {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: {cached_tokens: u.cachedTokens},
    output_tokens: u.completionTokens,
    output_tokens_details: {reasoning_tokens: 0},
    total_tokens: u.promptTokens + u.completionTokens,
  }
}

/** Builds the `response` objects and SSE frames of one response; numbers every event in order. */
class ResponsesFrames {
  private seq = 0
  private readonly deltaHead: string
  private readonly deltaMid: string

  constructor(readonly id: string, readonly itemId: string, readonly createdAt: number, readonly model: string, readonly maxOutputTokens: number | undefined) {
    this.deltaHead = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":'
    // Pre-serialised around the sequence number and the word, so the per-token cost is string concatenation.
    this.deltaMid = `,"item_id":${JSON.stringify(itemId)},"output_index":0,"content_index":0,"delta":"`
  }

  /** The `response` object in a given state; `text` undefined = no output yet. */
  response(status: 'in_progress' | 'completed' | 'incomplete', text?: string, usage?: Record<string, unknown> | null): Record<string, unknown> {
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      error: null,
      incomplete_details: status === 'incomplete' ? {reason: 'max_output_tokens'} : null,
      instructions: null,
      max_output_tokens: this.maxOutputTokens ?? null,
      model: this.model,
      output: text === undefined ? [] : [this.message(text, status === 'in_progress' ? 'in_progress' : status)],
      parallel_tool_calls: true,
      temperature: 1,
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      usage: usage ?? null,
    }
  }

  message(text: string | undefined, status: string): Record<string, unknown> {
    return {id: this.itemId, type: 'message', status, role: 'assistant', content: text === undefined ? [] : [textPart(text)]}
  }

  /** One `event:`/`data:` frame; `body` gets the type and the next sequence number. */
  event(type: string, body: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({type, sequence_number: this.seq++, ...body})}\n\n`
  }

  /** response.created + response.in_progress, sent as soon as the request is accepted. */
  opening(): string {
    return this.event('response.created', {response: this.response('in_progress')}) + this.event('response.in_progress', {response: this.response('in_progress')})
  }

  /** The output item and its text part open just before the first delta. */
  itemOpening(): string {
    return (
      this.event('response.output_item.added', {output_index: 0, item: this.message(undefined, 'in_progress')}) +
      this.event('response.content_part.added', {item_id: this.itemId, output_index: 0, content_index: 0, part: textPart('')})
    )
  }

  /** A text delta; `word` must be JSON-safe (see OUTPUT_WORDS). */
  delta(word: string): string {
    return `${this.deltaHead}${this.seq++}${this.deltaMid}${word}","logprobs":[]}\n\n`
  }

  /** A delta whose JSON is cut short, for the garbage fault. */
  garbageDelta(): string {
    return `${this.deltaHead}${this.seq++}${this.deltaMid}${OUTPUT_WORDS[0]}","logprobs":nul\n\n`
  }

  /** The Responses API's `error` streaming event (a failure after the stream started); the stream ends after it. */
  error(message: string): string {
    return this.event('error', {code: 'server_error', message, param: null})
  }

  /** Closes the part and the item, then the terminal event with usage (and the simulator's sim_timing). */
  closing(text: string, status: 'completed' | 'incomplete', usage: Record<string, unknown> | null, simTiming: object): string {
    const loc = {item_id: this.itemId, output_index: 0, content_index: 0}
    return (
      this.event('response.output_text.done', {...loc, text, logprobs: []}) +
      this.event('response.content_part.done', {...loc, part: textPart(text)}) +
      this.event('response.output_item.done', {output_index: 0, item: this.message(text, 'completed')}) +
      this.event(`response.${status}`, {response: this.response(status, text, usage), sim_timing: simTiming})
    )
  }
}

function textPart(text: string): Record<string, unknown> {
  return {type: 'output_text', text, annotations: [], logprobs: []}
}

/**
 * POST /v1/responses (the OpenAI Responses API) on the shared lifecycle. Streams `event:`/`data:` frames that
 * open with response.created before prefill and end with response.completed or response.incomplete (a set
 * max_output_tokens is always reached, as on the chat path); no `[DONE]`. `nextSeq` numbers the ids.
 */
export function responsesDialect(nextSeq: () => number): SimDialect<ResponsesRequest> {
  return {
    errorTypes: {tooLarge: 'invalid_request_error', unknownModel: 'invalid_request_error'},
    parse: parseResponsesBody,
    writer: (r, opts): RunWriter => {
      const n = nextSeq().toString(16).padStart(8, '0')
      const frames = new ResponsesFrames(`resp_sim${n}`, `msg_sim${n}`, Math.floor(Date.now() / 1000), opts.model, r.maxTokens)
      const status = r.maxTokens === undefined ? 'completed' : 'incomplete'
      const usage = (u: UsageNumbers) => (opts.usageStyle === 'none' ? null : responsesUsage(u))
      // The text so far: response.output_text.done and the final response repeat it whole.
      let text = ''
      const delta = (word: string) => {
        text += word
        return frames.delta(word)
      }
      return {
        // The real API sends response.created as soon as it accepts the request, before any prefill.
        opening: () => frames.opening(),
        beforeFirst: () => frames.itemOpening(),
        token: delta,
        last: (word, end, timing) => delta(word) + frames.closing(text, status, usage(end.usage), timing),
        garbage: () => frames.garbageDelta(),
        errorEvent: (message) => frames.error(message),
        body: (all, end) => JSON.stringify(frames.response(status, all, usage(end.usage))),
      }
    },
  }
}
