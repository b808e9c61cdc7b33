/**
 * The measured HTTP path: POST one planned request, pump the body through sse.ts → openai-stream.ts,
 * stamp times, and return a RequestRecord. Failures become records, never exceptions.
 *
 * Why node:http and not fetch/ky: a fetch (undici) + web-streams client measurably adds ~1.5–2.5 ms to
 * every TTFT (ReadableStream reader promises, TextDecoderStream and a microtask hop per chunk between
 * the socket read and our code) and ~30 ms to the first request (lazy undici/web-streams initialisation).
 * Those are the very quantities this tool reports, and a warm-cache TTFT can be 20 ms. With node:http the
 * 'data' callback runs in the same tick as the socket read, so the stamp is taken right where the bytes
 * arrive.
 */
import http from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import {urlToHttpOptions} from 'node:url'
import type {RequestError, RequestRecord} from '../record/record.js'
import {nowMs} from '../record/clock.js'
import {createSseParser} from './sse.js'
import {applyResponseBody, applyStreamEvent, createStreamState, errorMessageOf, type StreamState} from './openai-stream.js'
import {applyResponsesBody, applyResponsesStreamEvent} from './responses-stream.js'
import {modelsUrlOf} from './endpoint.js'
import type {PlannedRequest, Transport, TransportOptions} from './transport.js'

/** Idle keep-alive sockets are closed after this long. */
const IDLE_SOCKET_MS = 4000
/** Server error messages are trimmed to this many characters in records. */
const ERROR_MESSAGE_CHARS = 300
/** Error bodies are read up to this size; the message only needs the start. */
const ERROR_BODY_BYTES = 64 * 1024
/**
 * Longest stretch of request starts and record hand-backs run back to back before the event loop polls
 * sockets again (see `paced`).
 */
const PACE_SLICE_MS = 0.5

/** Per socket: when its latest read arrived (set by `stampRead`, the socket's first 'data' listener). */
const kReadAtMs = Symbol('dual-bench.readAtMs')
type StampedSocket = Socket & {[kReadAtMs]?: number}

/**
 * Prepended to every socket's 'data' listeners, once per socket (keep-alive reuse keeps it): the HTTP
 * parser runs inside the socket's 'data' handling and emits 'response' and body chunks from there (the
 * first chunk one tick later), so "the latest read on this socket" is exactly the arrival time of the
 * bytes being parsed, taken before any parsing or listener set-up. One shared function, no closure.
 */
function stampRead(this: StampedSocket): void {
  this[kReadAtMs] = nowMs()
}

/** A Transport backed by one keep-alive node:http(s) Agent. */
export interface NodeTransport extends Transport {
  /** The keep-alive pool every request (and `preconnect`) goes through. */
  readonly agent: http.Agent
  /**
   * Opens up to `n` keep-alive sockets before a level's clock starts (see the standalone `preconnect`).
   * `url` defaults to the server's models URL. Resolves to the number of warm-up requests that got a response.
   */
  preconnect(n: number, url?: URL): Promise<number>
  /** The endpoint every measured request is POSTed to. */
  readonly endpoint: URL
}

/** Creates the measured transport. One per concurrency level is typical: `maxSockets` is the level. */
export function createNodeTransport(opts: TransportOptions): NodeTransport {
  const isHttps = opts.endpoint.protocol === 'https:'
  // timeout applies to idle pooled sockets only (in-flight requests are bounded by timeoutMs): closing
  // them at 4 s, before the 5 s idle limit of uvicorn (vLLM, SGLang), Node and cpp-httplib (llama.cpp),
  // avoids most writes onto a socket the server is closing at that moment.
  const agentOptions = {keepAlive: true, maxSockets: opts.maxSockets, noDelay: true, timeout: IDLE_SOCKET_MS}
  // rejectUnauthorized lives on the agent so every request, including preconnect, shares one pool key.
  const agent = isHttps ? new https.Agent({...agentOptions, rejectUnauthorized: !opts.insecure}) : new http.Agent(agentOptions)
  const baseHeaders: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: opts.stream ? 'text/event-stream' : 'application/json',
    ...opts.headers,
  }
  if (opts.apiKey) baseHeaders.Authorization = `Bearer ${opts.apiKey}`
  const warmupHeaders: Record<string, string> = {...opts.headers, Accept: 'application/json'}
  if (opts.apiKey) warmupHeaders.Authorization = baseHeaders.Authorization
  const ctx: ExchangeContext = {
    opts,
    agent,
    request: isHttps ? https.request : http.request,
    baseHeaders,
    // Host/port/path resolved once: a URL argument would be converted again on every request.
    requestOptions: {...urlToHttpOptions(opts.endpoint), method: 'POST', agent},
    redact: makeRedactor(opts.apiKey),
  }

  return {
    agent,
    endpoint: opts.endpoint,
    send: (request, sendOpts) => exchange(ctx, request, sendOpts.queuedAtMs, sendOpts.signal),
    preconnect: (n, url) => warmSockets(agent, n, url ?? modelsUrlOf(opts.endpoint), {headers: warmupHeaders, timeoutMs: opts.timeoutMs}),
    close: async () => agent.destroy(),
  }
}

interface ExchangeContext {
  opts: TransportOptions
  agent: http.Agent
  request: typeof http.request
  baseHeaders: Record<string, string>
  requestOptions: http.RequestOptions
  redact: (message: string) => string
}

/**
 * Client work that may bunch up — request starts, and the hand-back of finished records (whose continuation
 * in the runner writes the record and starts the next request) — runs through one queue, at most
 * PACE_SLICE_MS of it at a time before the loop polls sockets again.
 *
 * Why: at a wave boundary hundreds of streams end in the same millisecond; running every hand-back and
 * every next start in one go kept the event loop from reading sockets for 50–90 ms at 256 streams, and
 * the new requests' first tokens, written by the server 10 ms after their start, were stamped that late
 * (the bytes waited in the kernel; no stamp taken in user space can be earlier than the loop's next poll).
 * Pacing delays a start by at most a few slices; the delay is client queue time (sentAtMs is taken when
 * the request really starts), never inside TTFT. With nothing queued an item runs at once (c=1 unchanged).
 */
const paceQueue: (() => void)[] = []
let pacing = false

function paced(work: () => void): void {
  paceQueue.push(work)
  if (!pacing) void drainPaced()
}

/** After the current tick queue and every microtask chain it starts (a resolved record's whole continuation). */
const afterTicks = () => new Promise<void>((resolve) => process.nextTick(resolve))
/** After the next poll phase: sockets that became readable meanwhile are read (and stamped) first. */
const afterPoll = () => new Promise<void>((resolve) => setImmediate(resolve))

/** When the current slice began; cleared in the check phase, i.e. once the loop has polled sockets again. */
let sliceStartMs: number | undefined
const endSlice = () => {
  sliceStartMs = undefined
}

async function drainPaced(): Promise<void> {
  pacing = true
  try {
    while (paceQueue.length > 0) {
      // The slice spans drains: in one poll phase each socket's callback may hand back a record, and those
      // add up, so the budget is per loop iteration rather than per drain.
      const now = nowMs()
      if (sliceStartMs === undefined) {
        sliceStartMs = now
        setImmediate(endSlice)
      } else if (now - sliceStartMs >= PACE_SLICE_MS) {
        await afterPoll()
        continue
      }
      paceQueue.shift()!()
      await afterTicks()
    }
  } finally {
    pacing = false
  }
}

/** One request from send to settled record, including one retry when a reused keep-alive socket was already closed. */
function exchange(ctx: ExchangeContext, planned: PlannedRequest, queuedAtMs: number, signal: AbortSignal | undefined): Promise<RequestRecord> {
  const {opts} = ctx
  const record: RequestRecord = {
    level: planned.level,
    round: planned.round,
    index: planned.index,
    sampleId: planned.sampleId,
    promptPreview: planned.promptPreview,
    queuedAtMs,
    sentAtMs: 0,
    endedAtMs: 0,
    ok: false,
  }
  if (planned.inputLength) record.inputLength = planned.inputLength

  return new Promise<RequestRecord>((resolve) => {
    let settled = false
    let state: StreamState = createStreamState()
    let chunkOffsets: number[] = []
    let req: http.ClientRequest | undefined
    let wholeTimer: NodeJS.Timeout | undefined
    let firstTokenTimer: NodeJS.Timeout | undefined
    let retried = false
    let responded = false
    let streamed = false

    const clearTimers = () => {
      if (wholeTimer) clearTimeout(wholeTimer)
      if (firstTokenTimer) clearTimeout(firstTokenTimer)
      wholeTimer = firstTokenTimer = undefined
    }
    const onAbort = () => {
      finish({category: 'cancelled', message: 'request cancelled'})
      req?.destroy()
    }

    /** Settles the record once; later events (a [DONE] after a timeout, the close after [DONE]) are ignored. */
    function finish(error: RequestError | undefined, endedAtMs = nowMs()): void {
      if (settled) return
      settled = true
      if (firstTokenTimer) clearTimeout(firstTokenTimer)
      // Cancelled while still waiting for its pacing slice: never sent, so the send stamp is the cancel.
      if (record.sentAtMs === 0) record.sentAtMs = endedAtMs
      signal?.removeEventListener('abort', onAbort)
      record.endedAtMs = endedAtMs
      fillFromState(record, state, streamed ? chunkOffsets : undefined)
      // A server (or proxy) may echo the Authorization header as text; the preview goes to requests.jsonl.
      if (record.outputPreview) record.outputPreview = ctx.redact(record.outputPreview)
      if (error) {
        record.ok = false
        record.error = {...error, message: ctx.redact(error.message)}
      } else {
        record.ok = true
      }
      paced(() => resolve(record))
    }

    function start(): void {
      if (settled) return // cancelled while waiting for its turn in the pacing queue
      state = createStreamState()
      chunkOffsets = []
      responded = false
      const headers = {...ctx.baseHeaders, 'Content-Length': String(planned.body.length)}
      // Stamped before http.request(), which already claims a socket (or starts a TCP/TLS connect), so a
      // connect the warm-up did not cover is inside TTFT rather than silently excluded.
      record.sentAtMs = nowMs()
      clearTimers()
      const timeoutMs = timerDelay(opts.timeoutMs)
      if (timeoutMs !== undefined) {
        wholeTimer = setTimeout(() => {
          finish({category: 'timeout', message: `no complete response within ${opts.timeoutMs} ms (--timeout)`})
          req?.destroy()
        }, timeoutMs)
      }
      const firstTokenTimeoutMs = timerDelay(opts.firstTokenTimeoutMs)
      if (opts.stream && firstTokenTimeoutMs !== undefined && (timeoutMs === undefined || firstTokenTimeoutMs < timeoutMs)) {
        firstTokenTimer = setTimeout(() => {
          finish({category: 'first_token_timeout', message: `no content within ${firstTokenTimeoutMs} ms of sending`})
          req?.destroy()
        }, firstTokenTimeoutMs)
      }

      const r = ctx.request({...ctx.requestOptions, headers})
      req = r
      r.on('socket', (socket: StampedSocket) => onSocket(r, socket))
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (settled || responded || req !== r) return // body-side failures are handled by the response listeners
        // A keep-alive socket the server closed while idle fails the first write; nothing reached the
        // server, so resending on a fresh socket is safe (the pattern Node's request.reusedSocket docs give).
        if (!retried && r.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          retried = true
          start()
          return
        }
        finish(classifyRequestError(err))
      })
      r.on('response', (res) => onResponse(r, res))
      r.on('close', () => {
        if (req !== r) return // the request a retry replaced
        // Request and response are over: stop the drain guard, and settle anything no listener settled.
        clearTimers()
        if (!settled) finish({category: responded ? 'stream_cut' : 'connection', message: 'connection closed before the response completed'})
      })
      r.end(planned.body)
    }

    function onSocket(r: http.ClientRequest, socket: StampedSocket): void {
      if (req !== r) return
      if (socket[kReadAtMs] === undefined) {
        socket[kReadAtMs] = 0
        socket.prependListener('data', stampRead)
      }
      // A socket still connecting when it is handed to the request was opened for it; a pooled one (from
      // preconnect or an earlier request) is already connected. The 'socket' event comes one tick after the
      // agent created the socket, and a connect needs at least one poll, so its start is measured from here.
      if (!socket.connecting) {
        record.reusedConnection = true
        if (record.connectMs !== undefined) record.connectMs = undefined // from a first attempt a retry replaced
        return
      }
      record.reusedConnection = false
      const openedAtMs = nowMs()
      const connected = () => {
        if (req === r) record.connectMs = nowMs() - openedAtMs
      }
      socket.once(ctx.opts.endpoint.protocol === 'https:' ? 'secureConnect' : 'connect', connected)
      r.once('close', () => socket.removeListener('secureConnect', connected).removeListener('connect', connected))
    }

    function onResponse(r: http.ClientRequest, res: http.IncomingMessage): void {
      responded = true
      const socket = res.socket as StampedSocket | null
      const readAt = () => socket?.[kReadAtMs] || nowMs()
      record.headersAtMs = readAt()
      const status = res.statusCode ?? 0
      res.on('error', () => {}) // a mid-body reset also closes the request; its 'close' settles the record
      if (status < 200 || status >= 300) {
        readBody(res, ERROR_BODY_BYTES, (text, _complete, endedAtMs) => finish(httpError(status, res.statusMessage, text), endedAtMs))
        return
      }
      const contentType = String(res.headers['content-type'] ?? '')
      // Some servers ignore `stream: true` or answer with a JSON body (often an error) and status 200.
      if (!opts.stream || (contentType.includes('json') && !contentType.includes('event-stream'))) {
        readBody(res, Infinity, (text, complete, endedAtMs) => {
          if (!complete) return finish({category: 'stream_cut', message: 'connection closed before the response body completed'}, endedAtMs)
          if (opts.api === 'responses') applyResponsesBody(state, text)
          else applyResponseBody(state, text)
          finish(state.error, endedAtMs)
        })
        return
      }

      streamed = true
      let stamp = 0
      let atEof = false
      const sse = createSseParser((data) => {
        if (settled) return
        const effect = opts.api === 'responses' ? applyResponsesStreamEvent(state, data) : applyStreamEvent(state, data)
        if (effect === 'content') {
          if (record.firstTokenAtMs === undefined) {
            record.firstTokenAtMs = stamp
            if (firstTokenTimer) clearTimeout(firstTokenTimer)
          }
          record.lastTokenAtMs = stamp
          chunkOffsets.push(stamp - record.sentAtMs)
        } else if (effect === 'done') {
          finish(undefined, stamp)
        } else if (effect === 'error') {
          const error = state.error!
          // A truncated final line dispatched by the end-of-body flush is a cut stream, not bad JSON.
          if (atEof && error.category === 'malformed_sse') return
          finish(error, stamp)
          if (error.category === 'malformed_sse') r.destroy()
        }
      })
      const onBodyOver = () => {
        if (settled) return
        // 'end' or 'close' may come without a read (a reset), so this one is the time it is handled.
        stamp = nowMs()
        atEof = true
        sse.end()
        if (settled) return
        if (state.finishReason !== undefined) finish(undefined, stamp)
        else finish({category: 'stream_cut', message: 'stream ended before [DONE] and without a finish_reason'}, stamp)
      }
      res.on('data', (buf: Buffer) => {
        if (settled) return
        // The arrival of the socket read that delivered these bytes, shared by every event parsed from it.
        stamp = readAt()
        sse.feed(buf)
      })
      res.on('end', onBodyOver)
      res.on('close', onBodyOver)
    }

    if (signal?.aborted) {
      record.sentAtMs = nowMs()
      finish({category: 'cancelled', message: 'request cancelled before it was sent'}, record.sentAtMs)
      return
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    paced(start)
  })
}

/**
 * A usable setTimeout delay, or undefined for "no limit" (0, negative, Infinity, NaN). Node fires delays
 * above 2^31−1 ms immediately, so those are clamped rather than turned into instant timeouts.
 */
function timerDelay(ms: number | undefined): number | undefined {
  if (ms === undefined || !(ms > 0) || ms === Infinity) return undefined
  return Math.min(ms, 2 ** 31 - 1)
}

function fillFromState(record: RequestRecord, state: StreamState, chunkOffsets: number[] | undefined): void {
  if (chunkOffsets) {
    record.chunkOffsetsMs = chunkOffsets
    record.contentChunks = state.contentChunks
  }
  if (state.outputTokens !== undefined) {
    record.outputTokens = state.outputTokens
    record.outputTokensSource = 'usage'
  } else if (chunkOffsets) {
    record.outputTokens = state.contentChunks
    record.outputTokensSource = 'chunks'
  }
  if (state.inputTokens !== undefined) record.inputTokens = state.inputTokens
  if (state.cachedTokens !== undefined) {
    record.cachedTokens = state.cachedTokens
    record.cachedTokensSource = state.cachedTokensSource
  }
  if (state.finishReason !== undefined) record.finishReason = state.finishReason
  if (state.outputPreview !== '') record.outputPreview = state.outputPreview
}

/** Reads a whole (error or non-streaming) body as UTF-8, keeping at most `maxBytes`; `complete` is false when the connection dropped first. */
function readBody(res: http.IncomingMessage, maxBytes: number, done: (text: string, complete: boolean, endedAtMs: number) => void): void {
  const parts: Buffer[] = []
  let size = 0
  let called = false
  const over = (complete: boolean) => {
    if (called) return
    called = true
    done(Buffer.concat(parts).toString('utf8'), complete, nowMs())
  }
  res.on('data', (buf: Buffer) => {
    if (size >= maxBytes) return
    parts.push(buf)
    size += buf.length
  })
  res.on('end', () => over(true))
  res.on('close', () => over(res.complete))
}

function httpError(status: number, statusMessage: string | undefined, bodyText: string): RequestError {
  let message: string | undefined
  try {
    message = errorMessageOf(JSON.parse(bodyText))
  } catch {
    message = bodyText.trim() || undefined
  }
  message = clip(message ?? `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`)
  const category = status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'other'
  return {category, message, httpStatus: status}
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'ECONNABORTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** Before any response: refused/reset/DNS/TLS → connection; anything else → other. */
function classifyRequestError(err: NodeJS.ErrnoException): RequestError {
  const code = err.code ?? ''
  const isConnection = CONNECTION_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('CERT_')
  return {category: isConnection ? 'connection' : 'other', message: clip(code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message)}
}

/**
 * True for a rejection of `stream_options` itself: a 400/422 whose message names stream_options or
 * include_usage, or says extra fields are not permitted (pydantic's wording on strict servers). The
 * caller then resends without `stream_options` and counts chunks instead.
 */
export function isStreamOptionsRejection(record: RequestRecord): boolean {
  const error = record.error
  if (record.ok || !error || error.category !== 'http_4xx') return false
  if (error.httpStatus !== 400 && error.httpStatus !== 422) return false
  return /stream_options|include_usage|extra (fields|inputs) (are )?not permitted|extra_forbidden/i.test(error.message)
}

/**
 * Opens up to `n` keep-alive sockets on `target`'s pool before a level's clock starts, so TCP (and TLS)
 * connects are not inside the first requests' TTFT (issue #6). It sends `n` parallel GETs (default: the
 * server's cheap `/v1/models`, with the transport's Authorization) and ignores their status; all that
 * matters is that each response completes on a socket the server keeps open. Nothing is recorded or
 * measured, and it never rejects (a down server shows up in the first measured request instead).
 * A transport other than a NodeTransport (a test fake) has no sockets to warm: nothing happens.
 * An `http.Agent` target needs `url`.
 */
export async function preconnect(
  target: Transport | http.Agent,
  n: number,
  url?: URL,
  opts: {headers?: Record<string, string>; timeoutMs?: number} = {},
): Promise<void> {
  if (target instanceof http.Agent) {
    if (url) await warmSockets(target, n, url, opts)
    return
  }
  const preconnectMethod = (target as Partial<NodeTransport>).preconnect
  if (typeof preconnectMethod === 'function') await preconnectMethod.call(target, n, url)
}

/** The warm-up itself: `n` parallel GETs on `agent`, resolving to how many got a response. */
async function warmSockets(
  agent: http.Agent,
  n: number,
  url: URL,
  opts: {headers?: Record<string, string>; timeoutMs?: number},
): Promise<number> {
  const request = url.protocol === 'https:' ? https.request : http.request
  const timeoutMs = opts.timeoutMs ?? 10_000
  const one = () =>
    new Promise<boolean>((resolve) => {
      const req = request(url, {method: 'GET', agent, headers: opts.headers}, (res) => {
        res.resume()
        res.on('end', () => resolve(true))
        res.on('error', () => resolve(false))
      })
      req.setTimeout(timeoutMs, () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
  const results = await Promise.all(Array.from({length: Math.max(0, n)}, one))
  // Sockets return to the free pool just after 'end'; let that happen before the caller starts its clock.
  await new Promise((resolve) => setImmediate(resolve))
  return results.filter(Boolean).length
}

function makeRedactor(apiKey: string | undefined): (message: string) => string {
  return (message) => {
    let out = message.replace(/(Bearer\s+)\S+/gi, '$1***')
    if (apiKey && apiKey.length > 0) {
      out = out.split(apiKey).join('***')
      // Messages and previews are clipped to a length before they get here, which can cut a key in two: mask a
      // tail that is the start of the key (4+ characters), with or without the clipping ellipsis.
      const tail = /…$/.test(out) ? out.slice(0, -1) : out
      for (let n = Math.min(apiKey.length - 1, tail.length); n >= 4; n--) {
        if (tail.endsWith(apiKey.slice(0, n))) {
          out = `${tail.slice(0, -n)}***${out.endsWith('…') ? '…' : ''}`
          break
        }
      }
    }
    return out
  }
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length <= ERROR_MESSAGE_CHARS ? oneLine : `${oneLine.slice(0, ERROR_MESSAGE_CHARS - 1)}…`
}
