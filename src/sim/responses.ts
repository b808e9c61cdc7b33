/**
 * The simulator's OpenAI Responses API endpoint (`POST /v1/responses`), streaming and non-streaming. It
 * reuses the chat engine's prefix cache, prefill queue, token clock and metrics through SimEngine's public
 * hooks, so a Responses request costs exactly what the same messages cost on /v1/chat/completions (the
 * prompt is rendered with the same chat template, so the two APIs even share cached blocks).
 *
 * Event names and shapes follow the OpenAI reference ("Responses streaming events"): `event: <type>` plus
 * `data: <json with the same type and a sequence_number>`; the stream ends with `response.completed` (or
 * `response.incomplete` when max_output_tokens cut it), never with `[DONE]`.
 *
 * Not simulated here: fault injection (fail/drop/garbage/slow/errorEvent draw from the engine's private
 * PRNG) and the engine's request/inFlight counters in /sim/stats, which only `SimEngine.handle` updates.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {performance} from 'node:perf_hooks'
import {outputWord} from './chunks.js'
import type {SimEngine} from './engine.js'
import type {PrefillTicket} from './prefill-queue.js'
import {blockHashes} from './prefix-cache.js'
import {errorBody, type SimError} from './protocol.js'
import type {Timer} from './scheduler.js'
import {renderChatPrompt, tokenize, type SimMessage} from './tokenize.js'

const MAX_BODY_BYTES = 64 * 1024 * 1024
/** A token due within this much of now counts as due (the chat path's rule). */
const OVERDUE_MS = 0.5

/** A validated Responses request, reduced to what the simulator acts on. */
export interface ResponsesRequest {
  model?: string
  promptTokens: string[]
  /** max_output_tokens; undefined = server default (and status completed). */
  maxOutputTokens?: number
  stream: boolean
}

export type ResponsesParseResult = {ok: true; request: ResponsesRequest} | {ok: false; error: SimError}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
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
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch (error) {
    return bad(`Invalid JSON body: ${(error as Error).message}`)
  }
  if (!isObject(body)) return bad('The request body must be a JSON object')

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
      maxOutputTokens: (max ?? undefined) as number | undefined,
      stream: body.stream === true,
    },
  }
}

/** Token accounting of one finished (or cut) response. */
interface ResponseNumbers {
  inputTokens: number
  cachedTokens: number
  outputTokens: number
}

/** The Responses API `usage` object. */
export function responsesUsage(u: ResponseNumbers): Record<string, unknown> {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: {cached_tokens: u.cachedTokens},
    output_tokens: u.outputTokens,
    output_tokens_details: {reasoning_tokens: 0},
    total_tokens: u.inputTokens + u.outputTokens,
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

  /** Closes the part and the item, then the terminal event with usage (and the simulator's sim_timing). */
  closing(text: string, status: 'completed' | 'incomplete', usage: Record<string, unknown> | null, simTiming: Record<string, number>): string {
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

let responseSeq = 0

/** Serves POST /v1/responses from arrival to the end of the response. */
export function serveResponses(engine: SimEngine, req: IncomingMessage, res: ServerResponse): void {
  const arrival = performance.now()
  let run: ResponsesRun | undefined
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    run?.abandon()
  }
  res.on('finish', end)
  res.on('close', end)

  const chunks: Buffer[] = []
  let size = 0
  req.on('data', (c: Buffer) => {
    size += c.length
    if (size > MAX_BODY_BYTES) {
      sendError(res, {status: 413, message: `Request body larger than ${MAX_BODY_BYTES} bytes`, type: 'invalid_request_error'}, true)
      req.destroy()
      return
    }
    chunks.push(c)
  })
  req.on('error', end)
  req.on('end', () => {
    if (ended || res.headersSent) return
    const parsed = parseResponsesBody(Buffer.concat(chunks).toString('utf8'))
    if (!parsed.ok) return sendError(res, parsed.error)
    const r = parsed.request
    if (r.model !== undefined && r.model !== engine.opts.model) {
      return sendError(res, {status: 404, message: `The model \`${r.model}\` does not exist.`, type: 'invalid_request_error', param: 'model'})
    }
    run = new ResponsesRun(engine, r, res, arrival)
    run.start()
  })
}

function sendError(res: ServerResponse, e: SimError, close = false): void {
  if (res.headersSent || res.destroyed) return
  const body = errorBody(e)
  res.writeHead(e.status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(close ? {connection: 'close'} : {})})
  res.end(body)
}

const epochMs = () => performance.timeOrigin + performance.now()

/** One accepted Responses request: prefill → first delta → steady deltas → terminal event. */
class ResponsesRun {
  private readonly frames: ResponsesFrames
  private readonly outputTokens: number
  private readonly status: 'completed' | 'incomplete'
  private readonly wordOffset: number
  private ticket?: PrefillTicket
  private timer?: Timer
  private written = 0
  private text = ''
  private decodingCounted = false
  private over = false
  private cachedTokens = 0
  private firstAt = 0
  private firstWriteMs = 0

  constructor(private readonly engine: SimEngine, private readonly r: ResponsesRequest, private readonly res: ServerResponse, private readonly arrival: number) {
    const n = (++responseSeq).toString(16).padStart(8, '0')
    this.frames = new ResponsesFrames(`resp_sim${n}`, `msg_sim${n}`, Math.floor(Date.now() / 1000), engine.opts.model, r.maxOutputTokens)
    this.outputTokens = r.maxOutputTokens ?? engine.opts.defaultOutputTokens
    // As on the chat path, a set limit is always reached: the real API then reports status incomplete.
    this.status = r.maxOutputTokens === undefined ? 'completed' : 'incomplete'
    this.wordOffset = r.promptTokens.length
  }

  start(): void {
    if (this.r.stream) {
      // The real API sends response.created as soon as it accepts the request, before any prefill.
      this.res.writeHead(200, {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive'})
      this.res.write(this.frames.opening())
    }
    const {promptTokens} = this.r
    this.ticket = this.engine.submitPrefill(blockHashes(promptTokens, this.engine.opts.blockSize), promptTokens.length, (cached) => {
      this.ticket = undefined
      this.cachedTokens = cached
      this.engine.decodingDelta(1)
      this.decodingCounted = true
      this.timer = this.engine.at(performance.now() + this.engine.opts.baseTtftMs, () => this.first())
    })
  }

  abandon(): void {
    if (!this.over) this.finish(undefined)
  }

  private finish(finishReason: string | undefined): void {
    this.over = true
    this.ticket?.cancel()
    this.timer?.cancel()
    if (this.decodingCounted) this.engine.decodingDelta(-1)
    this.decodingCounted = false
    this.engine.metrics.onEnded(this.written, finishReason)
    if (finishReason) this.engine.completed(this.r.promptTokens.length, this.cachedTokens)
  }

  private first(): void {
    this.firstAt = performance.now()
    this.engine.metrics.onFirstToken((this.firstAt - this.arrival) / 1000)
    if (!this.r.stream) return this.nonStreaming()
    this.next(this.frames.itemOpening())
  }

  /** Writes delta `this.written` (plus any already overdue), then schedules the next; the last one closes the stream. */
  private next(prefix = ''): void {
    if (this.over) return
    const itl = this.engine.opts.itlMs
    let out = prefix
    for (;;) {
      const i = this.written
      const word = outputWord(this.wordOffset, i)
      const stamp = epochMs()
      if (i === 0) this.firstWriteMs = stamp
      this.written++
      this.text += word
      out += this.frames.delta(word)
      if (i === this.outputTokens - 1) {
        const simTiming = {first_token_write_ms: this.firstWriteMs, last_token_write_ms: stamp}
        out += this.frames.closing(this.text, this.status, this.usage(), simTiming)
        this.finish(this.finishReason())
        this.res.end(out)
        return
      }
      const due = this.firstAt + this.written * itl
      if (due > performance.now() + OVERDUE_MS) {
        this.res.write(out)
        this.timer = this.engine.at(due, () => this.next())
        return
      }
    }
  }

  private nonStreaming(): void {
    const n = this.outputTokens
    this.timer = this.engine.at(this.firstAt + (n - 1) * this.engine.opts.itlMs, () => {
      if (this.over) return
      for (let i = 0; i < n; i++) this.text += outputWord(this.wordOffset, i)
      this.written = n
      const body = JSON.stringify(this.frames.response(this.status, this.text, this.usage()))
      this.finish(this.finishReason())
      this.res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
      this.res.end(body)
    })
  }

  /** vLLM's finished_reason label for the metrics: length when the limit was hit. */
  private finishReason(): string {
    return this.status === 'incomplete' ? 'length' : 'stop'
  }

  private usage(): Record<string, unknown> | null {
    if (this.engine.opts.usageStyle === 'none') return null
    return responsesUsage({inputTokens: this.r.promptTokens.length, cachedTokens: this.cachedTokens, outputTokens: this.written})
  }
}
