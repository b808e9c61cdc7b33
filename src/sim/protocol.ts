import {renderChatPrompt, tokenize, type SimMessage} from './tokenize.js'

/** Which endpoint a request came to. */
export type SimApi = 'chat' | 'completions'

/** A validated completion request, reduced to what the simulator acts on. */
export interface SimRequest {
  api: SimApi
  /** Model named in the body, if any. */
  model?: string
  promptTokens: string[]
  /** max_completion_tokens ?? max_tokens; undefined = server default. */
  maxTokens?: number
  stream: boolean
  includeUsage: boolean
  hasStreamOptions: boolean
}

/** An OpenAI-style error answer. */
export interface SimError {
  status: number
  message: string
  type: string
  param?: string
}

export type ParseResult = {ok: true; request: SimRequest} | {ok: false; error: SimError}

const bad = (message: string, param?: string): ParseResult => ({ok: false, error: {status: 400, message, type: 'BadRequestError', param}})

/** A plain JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The body as a JSON object, or the 400 a real server gives for anything else (`type` is that server's error type). Pure. */
export function jsonObjectBody(raw: string, type: string): {ok: true; body: Record<string, unknown>} | {ok: false; error: SimError} {
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch (error) {
    return {ok: false, error: {status: 400, message: `Invalid JSON body: ${(error as Error).message}`, type}}
  }
  if (!isObject(body)) return {ok: false, error: {status: 400, message: 'The request body must be a JSON object', type}}
  return {ok: true, body}
}

/** Message content is a string, or (OpenAI content parts) an array of {type: 'text', text}; null is allowed for assistant turns. */
function contentText(content: unknown, i: number): string | SimError {
  if (typeof content === 'string') return content
  if (content === null || content === undefined) return ''
  if (Array.isArray(content)) {
    let text = ''
    for (const part of content) {
      if (!isObject(part) || typeof part.type !== 'string') {
        return {status: 400, message: `messages[${i}].content: each content part must be an object with a "type"`, type: 'BadRequestError', param: 'messages'}
      }
      if (part.type === 'text') {
        if (typeof part.text !== 'string') return {status: 400, message: `messages[${i}].content: a text part needs a string "text"`, type: 'BadRequestError', param: 'messages'}
        text += part.text
      }
    }
    return text
  }
  return {status: 400, message: `messages[${i}].content must be a string or an array of content parts`, type: 'BadRequestError', param: 'messages'}
}

function optionalPositiveInt(body: Record<string, unknown>, key: string): number | undefined | SimError {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    return {status: 400, message: `${key} must be an integer >= 1, got ${JSON.stringify(v)}`, type: 'BadRequestError', param: key}
  }
  return v
}

const isError = (v: unknown): v is SimError => isObject(v) && typeof v.status === 'number' && typeof v.message === 'string'

/**
 * Validates a request body like a real server would (400 for bad JSON, missing messages/prompt, wrong
 * types) and tokenizes the prompt. Pure.
 */
export function parseCompletionBody(api: SimApi, raw: string): ParseResult {
  const json = jsonObjectBody(raw, 'BadRequestError')
  if (!json.ok) return json
  const body = json.body
  let promptTokens: string[]
  if (api === 'chat') {
    const messages = body.messages
    if (messages === undefined) return bad('messages: Field required', 'messages')
    if (!Array.isArray(messages) || messages.length === 0) return bad('messages must be a non-empty array', 'messages')
    const sim: SimMessage[] = []
    for (const [i, m] of messages.entries()) {
      if (!isObject(m) || typeof m.role !== 'string') return bad(`messages[${i}] must be an object with a string "role"`, 'messages')
      const text = contentText(m.content, i)
      if (typeof text !== 'string') return {ok: false, error: text}
      sim.push({role: m.role, content: text})
    }
    promptTokens = tokenize(renderChatPrompt(sim))
  } else {
    const prompt = body.prompt
    if (prompt === undefined) return bad('prompt: Field required', 'prompt')
    if (typeof prompt === 'string') {
      promptTokens = tokenize(prompt)
    } else if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') {
      promptTokens = tokenize(prompt[0])
    } else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => Number.isInteger(t))) {
      // A pre-tokenized prompt: each id is one token.
      promptTokens = prompt.map(String)
    } else {
      return bad('prompt must be a string, a one-element array of strings or an array of token ids (batched prompts are not simulated)', 'prompt')
    }
    if (promptTokens.length === 0) return bad('prompt must not be empty', 'prompt')
  }

  if (body.model !== undefined && typeof body.model !== 'string') return bad('model must be a string', 'model')
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') return bad('stream must be a boolean', 'stream')
  const stream = body.stream === true
  const maxTokens = optionalPositiveInt(body, 'max_tokens')
  if (isError(maxTokens)) return {ok: false, error: maxTokens}
  const maxCompletionTokens = optionalPositiveInt(body, 'max_completion_tokens')
  if (isError(maxCompletionTokens)) return {ok: false, error: maxCompletionTokens}
  if (body.n !== undefined && body.n !== null && body.n !== 1) return bad('n: only n=1 is simulated', 'n')

  const so = body.stream_options
  const hasStreamOptions = so !== undefined && so !== null
  if (hasStreamOptions && !isObject(so)) return bad('stream_options must be an object', 'stream_options')
  // vLLM's rule: stream_options is meaningless without streaming.
  if (hasStreamOptions && !stream) return bad('Stream options can only be defined when `stream=True`.', 'stream_options')
  const includeUsage = hasStreamOptions && (so as Record<string, unknown>).include_usage === true

  return {
    ok: true,
    request: {
      api,
      model: body.model as string | undefined,
      promptTokens,
      maxTokens: maxCompletionTokens ?? maxTokens,
      stream,
      includeUsage,
      hasStreamOptions,
    },
  }
}

/** The JSON body of an error answer, OpenAI shape. */
export function errorBody(e: Omit<SimError, 'status'> & {status?: number}): string {
  return JSON.stringify({error: {message: e.message, type: e.type, param: e.param ?? null, code: e.status ?? null}})
}
