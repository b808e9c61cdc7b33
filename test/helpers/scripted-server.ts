/**
 * A loopback HTTP server whose responses are scripted step by step with exact timing, for testing the
 * measured transport (and anything built on it). It records what it received (raw body bytes, headers),
 * when it actually wrote each step (same clock as the client: src/record/clock.ts), how many requests
 * were in flight at once, and how many TCP connections it accepted.
 *
 *   const server = await startScriptedServer(() => ({body: openAiStream({firstTokenDelayMs: 120, tokens: 5, itlMs: 30})}))
 *   ... createMeasuredTransport({endpoint: server.endpoint(), ...}) ...
 *   await server.close()
 */
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo, Socket} from 'node:net'
import {nowMs} from '../../src/record/clock.js'

/** One step of a scripted response body. */
export type Step =
  /** Pause. */
  | {wait: number}
  /** One SSE event: `data: <json or string>\n\n`. */
  | {sse: unknown}
  /** Bytes exactly as given (for split lines, comments, CRLF, broken JSON…). */
  | {raw: string | Buffer}
  /** Kill the connection now (a server crash mid-stream). */
  | {destroy: true}

export interface ScriptedResponse {
  /** Wait this long before sending the status line (a stall before headers). */
  headersDelayMs?: number
  /** Destroy the connection instead of answering (after headersDelayMs). */
  resetBeforeHeaders?: boolean
  /** Default 200. */
  status?: number
  /** Default `content-type: text/event-stream`. */
  headers?: Record<string, string>
  body?: Step[]
  /** Leave the response open after the last step (a server that hangs). */
  keepOpen?: boolean
}

/** What the server saw and did for one request. */
export interface ReceivedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  /** The raw request body bytes. */
  body: Buffer
  receivedAtMs: number
  /** TCP connection number (1-based, in accept order): equal numbers mean a reused keep-alive socket. */
  connection: number
  /** When the status line and headers were flushed. */
  headersSentAtMs?: number
  /** Each body write, when it happened, and what it was. */
  writes: {atMs: number; text: string}[]
}

export type Responder = (req: ReceivedRequest, n: number) => ScriptedResponse | Promise<ScriptedResponse>

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>` (https with the tls option). */
  readonly url: URL
  /** A URL on this server, default the chat endpoint. */
  endpoint(path?: string): URL
  /** Every request received, in arrival order. */
  readonly requests: ReceivedRequest[]
  readonly inFlight: number
  /** Largest number of requests in flight at once since start (or `resetCounters`). */
  readonly maxInFlight: number
  /** TCP connections accepted. */
  readonly connections: number
  /** Replace the script for subsequent requests. */
  respond(responder: Responder | ScriptedResponse): void
  resetCounters(): void
  close(): Promise<void>
}

// unref: a scripted stall must not keep jest alive after the test closed the server.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

export interface ScriptedServerOptions {
  /** Serve HTTPS with this key/certificate (PEM) instead of plain HTTP. */
  tls?: {key: string | Buffer; cert: string | Buffer}
}

/** Starts the server on 127.0.0.1, port 0. */
export async function startScriptedServer(responder: Responder | ScriptedResponse = {}, options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  let script: Responder = toResponder(responder)
  const requests: ReceivedRequest[] = []
  let inFlight = 0
  let maxInFlight = 0
  let connections = 0
  const connectionIds = new WeakMap<Socket, number>()

  const handler: http.RequestListener = (req, res) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    res.on('close', () => inFlight--)
    const parts: Buffer[] = []
    req.on('data', (b: Buffer) => parts.push(b))
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(parts),
        receivedAtMs: nowMs(),
        connection: connectionIds.get(req.socket) ?? 0,
        writes: [],
      }
      requests.push(received)
      void play(res, received, script, requests.length)
    })
  }
  const server = options.tls ? https.createServer({...options.tls, noDelay: true}, handler) : http.createServer({noDelay: true}, handler)
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => connectionIds.set(socket, ++connections))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  const url = new URL(`${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`)

  return {
    url,
    endpoint: (path = '/v1/chat/completions') => new URL(path, url),
    requests,
    get inFlight() {
      return inFlight
    },
    get maxInFlight() {
      return maxInFlight
    },
    get connections() {
      return connections
    },
    respond(next) {
      script = toResponder(next)
    },
    resetCounters() {
      maxInFlight = inFlight
      connections = 0
      requests.length = 0
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function toResponder(r: Responder | ScriptedResponse): Responder {
  return typeof r === 'function' ? r : () => r
}

async function play(res: http.ServerResponse, received: ReceivedRequest, script: Responder, n: number): Promise<void> {
  const response = await script(received, n)
  if (response.headersDelayMs) await sleep(response.headersDelayMs)
  if (res.destroyed) return
  if (response.resetBeforeHeaders) {
    res.socket?.destroy()
    return
  }
  res.writeHead(response.status ?? 200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...response.headers})
  res.flushHeaders()
  received.headersSentAtMs = nowMs()
  for (const step of response.body ?? []) {
    if (res.destroyed) return
    if ('wait' in step) {
      await sleep(step.wait)
    } else if ('destroy' in step) {
      res.socket?.destroy()
      return
    } else {
      const text = 'sse' in step ? `data: ${typeof step.sse === 'string' ? step.sse : JSON.stringify(step.sse)}\n\n` : step.raw
      received.writes.push({atMs: nowMs(), text: text.toString()})
      res.write(text)
    }
  }
  if (!response.keepOpen && !res.destroyed) res.end()
}

// ---- OpenAI-shaped building blocks -------------------------------------------------------------

/** A chat streaming chunk with the given delta fields (plus optional top-level extras like usage). */
export function chatChunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}, finishReason: string | null = null): unknown {
  return {id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'm', choices: [{index: 0, delta, finish_reason: finishReason}], ...extra}
}

/** A completions streaming chunk. */
export function textChunk(text: string, extra: Record<string, unknown> = {}, finishReason: string | null = null): unknown {
  return {id: 'cmpl-1', object: 'text_completion', model: 'm', choices: [{index: 0, text, finish_reason: finishReason}], ...extra}
}

export interface OpenAiStreamOptions {
  api?: 'chat' | 'completions'
  /** Delay after headers before the first content chunk. */
  firstTokenDelayMs?: number
  /** Content chunks: their texts, or a count (`t0`, `t1`, …). */
  tokens?: string[] | number
  /** Delay between consecutive content chunks. */
  itlMs?: number
  /** Send a final usage chunk (`choices: []`), as vLLM/OpenAI do for include_usage. */
  usage?: {prompt_tokens: number; completion_tokens: number; cached_tokens?: number}
  finishReason?: string | null
  /** End with `data: [DONE]` (default true). */
  done?: boolean
}

/**
 * The body of a typical OpenAI-compatible stream: role chunk, content chunks at a steady pace, a chunk
 * with finish_reason, an optional usage chunk, then [DONE].
 */
export function openAiStream(opts: OpenAiStreamOptions = {}): Step[] {
  const api = opts.api ?? 'chat'
  const tokens = typeof opts.tokens === 'number' ? Array.from({length: opts.tokens}, (_, i) => `t${i} `) : (opts.tokens ?? ['Hello', ' world'])
  const chunk = (text: string) => (api === 'chat' ? chatChunk({content: text}) : textChunk(text))
  const steps: Step[] = []
  if (api === 'chat') steps.push({sse: chatChunk({role: 'assistant', content: ''})})
  if (opts.firstTokenDelayMs) steps.push({wait: opts.firstTokenDelayMs})
  tokens.forEach((t, i) => {
    if (i > 0 && opts.itlMs) steps.push({wait: opts.itlMs})
    steps.push({sse: chunk(t)})
  })
  const finish = opts.finishReason === undefined ? 'stop' : opts.finishReason
  if (finish !== null) steps.push({sse: api === 'chat' ? chatChunk({}, {}, finish) : textChunk('', {}, finish)})
  if (opts.usage) {
    const {cached_tokens, ...counts} = opts.usage
    const usage = {...counts, total_tokens: counts.prompt_tokens + counts.completion_tokens, ...(cached_tokens === undefined ? {} : {prompt_tokens_details: {cached_tokens}})}
    steps.push({sse: {id: 'x', object: api === 'chat' ? 'chat.completion.chunk' : 'text_completion', model: 'm', choices: [], usage}})
  }
  if (opts.done !== false) steps.push({sse: '[DONE]'})
  return steps
}

/** A JSON (non-streaming) response. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): ScriptedResponse {
  return {status, headers: {'content-type': 'application/json', ...headers}, body: [{raw: typeof body === 'string' ? body : JSON.stringify(body)}]}
}
