/**
 * The measured HTTP path: POST one planned request on a slot of the connection pool, pump the body through
 * sse.ts → openai-stream.ts (or responses-stream.ts), stamp times, and return a RequestRecord. Failures become
 * records, never exceptions.
 *
 * Stamps are the arrival of the socket read that delivered the bytes (`Slot.readAtMs`), taken before undici
 * parses them; undici's handler callbacks run synchronously inside that read. Why not fetch/ky here: a fetch +
 * web-streams client measurably adds ~1.5–2.5 ms to every TTFT (reader promises, TextDecoderStream, a
 * microtask hop per chunk) and ~30 ms to a process's first request — the very quantities this tool reports.
 * Why undici's dispatch and not node:http: see connection-pool.ts (≈ 2× the requests/s per core).
 */
import type {RequestError, RequestRecord} from '../record/record.js'
import {nowMs} from '../record/clock.js'
import {createSseParser, type SseParser} from './sse.js'
import {applyResponseBody, applyStreamEvent, createStreamState, type StreamState} from './openai-stream.js'
import {applyResponsesBody, applyResponsesStreamEvent} from './responses-stream.js'
import {modelsUrlOf} from './endpoint.js'
import {ConnectionPool, type Slot} from './connection-pool.js'
import {paced} from './pacing.js'
import {classifyRequestError, describeError, httpError, isStaleSocketError, makeRedactor, timerDelay} from './request-errors.js'
import type {PlannedRequest, Transport, TransportOptions} from './transport.js'

export {isStreamOptionsRejection} from './request-errors.js'

/** Error bodies are read up to this size; the message only needs the start. */
const ERROR_BODY_BYTES = 64 * 1024
/** With no --timeout, how long a response may still run after its record settled (e.g. after [DONE]) before its socket is closed. */
const DRAIN_LIMIT_MS = 5000

/** A Transport backed by its own connection pool. */
export interface MeasuredTransport extends Transport {
  /**
   * Opens up to `n` keep-alive connections before a level's clock starts: `n` parallel GETs of `url` (default:
   * the server's cheap `/v1/models`), status ignored, nothing recorded. Resolves to how many got a response.
   */
  preconnect(n: number, url?: URL): Promise<number>
  /** The endpoint every measured request is POSTed to. */
  readonly endpoint: URL
}

/** Creates the measured transport. One per concurrency level is typical: `maxSockets` is the level. */
export function createMeasuredTransport(opts: TransportOptions): MeasuredTransport {
  const pool = new ConnectionPool({origin: opts.endpoint.origin, maxSockets: opts.maxSockets, insecure: opts.insecure})
  const auth = authorizationOf(opts)
  const headers = flatHeaders({
    'content-type': 'application/json',
    accept: opts.stream ? 'text/event-stream' : 'application/json',
    ...opts.headers,
    ...(auth ? {authorization: auth} : {}),
  })
  const warmupHeaders = flatHeaders({...opts.headers, accept: 'application/json', ...(auth ? {authorization: auth} : {})})
  const settings: ExchangeSettings = {api: opts.api, stream: opts.stream, timeoutMs: opts.timeoutMs, firstTokenTimeoutMs: opts.firstTokenTimeoutMs}
  /** Per signal in use: its one listener, and how many of this transport's unsettled exchanges were given it. */
  const watched = new Map<AbortSignal, {cancelSlots: () => void; users: number}>()
  const watchCancel = (signal: AbortSignal) => {
    const known = watched.get(signal)
    if (known) return void known.users++
    const cancelSlots = () => pool.cancel(signal)
    watched.set(signal, {cancelSlots, users: 1})
    signal.addEventListener('abort', cancelSlots, {once: true})
  }
  const unwatchCancel = (signal: AbortSignal) => {
    const known = watched.get(signal)
    if (!known || --known.users > 0) return
    watched.delete(signal)
    signal.removeEventListener('abort', known.cancelSlots)
  }
  const ctx: ExchangeContext = {opts: settings, pool, headers, path: opts.endpoint.pathname + opts.endpoint.search, redact: makeRedactor(opts.apiKey), watchCancel, unwatchCancel}
  return {
    endpoint: opts.endpoint,
    send: (request, sendOpts) => exchange(ctx, request, sendOpts.queuedAtMs, sendOpts.signal),
    preconnect: (n, url) => warmConnections(pool, n, url ?? modelsUrlOf(opts.endpoint), opts.endpoint.origin, warmupHeaders, opts.timeoutMs),
    close: () => pool.close(),
  }
}

/**
 * Opens `target`'s connections before a level's clock starts (see MeasuredTransport.preconnect). Never rejects;
 * a transport without connections of its own (a test fake) is left alone.
 */
export async function preconnect(target: Transport, n: number, url?: URL): Promise<void> {
  const method = (target as Partial<MeasuredTransport>).preconnect
  if (typeof method === 'function') await method.call(target, n, url)
}

/**
 * What an exchange reads from the options, in one fixed shape. Callers build TransportOptions as objects of different
 * shapes (the run's, the client warm-up's, tests'); code optimized for one would deoptimize on the next.
 */
interface ExchangeSettings {
  api: TransportOptions['api']
  stream: boolean
  timeoutMs: number
  firstTokenTimeoutMs: number | undefined
}

interface ExchangeContext {
  opts: ExchangeSettings
  pool: ConnectionPool
  /** Request headers as undici's flat [name, value, …] list, built once per transport. */
  headers: string[]
  path: string
  redact: (message: string) => string
  /**
   * Makes `signal`'s abort cancel the exchanges that hold a slot: one listener per signal and transport, kept while an
   * unsettled exchange uses the signal (a caller may pass a fresh signal per send: none outlives its sends). An exchange
   * still waiting for its pacing turn or for a slot sees the abort when it gets there. Why not a listener per request:
   * EventTarget's add/removeEventListener walk the listeners already registered, and a per-request closure held by the
   * long-lived signal doubled garbage-collection time (measured at 256 in flight: 6 → 12 % of the core) and cost ≈ 8 %
   * of the transport's req/s at 64 and 256 in flight.
   */
  watchCancel: (signal: AbortSignal) => void
  /** The exchange given `signal` has settled. */
  unwatchCancel: (signal: AbortSignal) => void
}

/** `Bearer <key>`, or Basic from credentials in the endpoint URL, or nothing. */
function authorizationOf(opts: TransportOptions): string | undefined {
  if (opts.apiKey) return `Bearer ${opts.apiKey}`
  const {username, password} = opts.endpoint
  if (!username && !password) return undefined
  return `Basic ${Buffer.from(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`).toString('base64')}`
}

/** Merges case-insensitively (a later name wins, as a user's --header over a default) into [name, value, …]. */
function flatHeaders(headers: Record<string, string>): string[] {
  const merged = new Map<string, [string, string]>()
  for (const [name, value] of Object.entries(headers)) merged.set(name.toLowerCase(), [name, value])
  return [...merged.values()].flat()
}

/** How the current response body is read, decided at its headers. */
type BodyMode = 'stream' | 'whole' | 'error'

/** One request from send to settled record, including one resend when a reused keep-alive socket was already closed. */
function exchange(ctx: ExchangeContext, planned: PlannedRequest, queuedAtMs: number, signal: AbortSignal | undefined): Promise<RequestRecord> {
  const {opts, pool} = ctx
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
    let streamed = false
    /** The slot this request holds, from acquiring it until its HTTP exchange is over. */
    let slot: Slot | undefined
    /** Bumped per dispatch and when an exchange is cut short, so callbacks of a superseded one are ignored. */
    let attempt = 0
    /** The slot's connect count when the request was dispatched: a change means it opened its own connection. */
    let connectsAtDispatch = 0
    let retried = false
    /** Whether this exchange counts as a user of `signal` (see ExchangeContext.watchCancel) until it settles. */
    let watching = false
    let wholeTimer: NodeJS.Timeout | undefined
    let firstTokenTimer: NodeJS.Timeout | undefined

    const clearTimers = () => {
      if (wholeTimer) clearTimeout(wholeTimer)
      if (firstTokenTimer) clearTimeout(firstTokenTimer)
      wholeTimer = firstTokenTimer = undefined
    }
    /** The HTTP exchange is over: the slot goes back to the pool (with a new socket if it was cut short). */
    const releaseSlot = (cut: boolean) => {
      if (!slot) return
      clearTimers()
      attempt++
      slot.onCancel = slot.cancelSignal = undefined
      if (cut) pool.reset(slot)
      pool.release(slot)
      slot = undefined
    }
    const onAbort = () => {
      finish({category: 'cancelled', message: 'request cancelled'})
      releaseSlot(true)
    }

    /** Settles the record once; later events (a [DONE] after a timeout, the body's end after [DONE]) are ignored. */
    function finish(error: RequestError | undefined, endedAtMs = nowMs()): void {
      if (settled) return
      settled = true
      if (firstTokenTimer) clearTimeout(firstTokenTimer)
      firstTokenTimer = undefined
      // Cancelled while still waiting for its pacing slice or a slot: never sent, so the send stamp is the cancel.
      if (record.sentAtMs === 0) record.sentAtMs = endedAtMs
      if (slot) noteConnection(slot)
      if (watching) ctx.unwatchCancel(signal!)
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
      // The body may still be ending (the chunk terminator after [DONE]): bound that wait so the slot comes back.
      if (slot && !wholeTimer) wholeTimer = setTimeout(() => releaseSlot(true), DRAIN_LIMIT_MS)
      paced(() => resolve(record))
    }

    function start(): void {
      if (settled) return
      if (signal?.aborted) return onAbort() // cancelled while waiting for its turn in the pacing queue
      const acquired = pool.acquire()
      if (acquired instanceof Promise) void acquired.then(dispatch)
      else dispatch(acquired)
    }

    function dispatch(s: Slot): void {
      if (settled) return pool.release(s)
      if (signal?.aborted) {
        pool.release(s)
        return onAbort() // cancelled while waiting for a slot
      }
      slot = s
      // Cancelled through the slot, see ExchangeContext.watchCancel.
      s.onCancel = onAbort
      s.cancelSignal = signal
      const my = ++attempt
      state = createStreamState()
      chunkOffsets = []
      streamed = false
      // Stamped once the request has its connection slot: waiting for one is queue time. A connect the warm-up
      // did not cover is inside TTFT (and in connectMs), never silently excluded.
      record.sentAtMs = nowMs()
      connectsAtDispatch = s.connects
      armTimers()

      let mode: BodyMode = 'whole'
      let status = 0
      let statusText = ''
      let responded = false
      const parts: Buffer[] = []
      let size = 0
      let stamp = 0
      let atEof = false
      // Made when the response turns out to be a stream: a non-streaming answer never pays for a parser.
      let sse: SseParser | undefined
      const onSseData = (data: string) => {
        if (settled) return
        const effect = opts.api === 'responses' ? applyResponsesStreamEvent(state, data) : applyStreamEvent(state, data)
        if (effect === 'content') {
          if (record.firstTokenAtMs === undefined) {
            record.firstTokenAtMs = stamp
            if (firstTokenTimer) clearTimeout(firstTokenTimer)
          }
          record.lastTokenAtMs = stamp
          // Whole microseconds: finer than any gap measured, and a record's line in requests.jsonl is half as long
          // (≈ 1.1 instead of 2.1 kB for 100 chunks) and ~20 % quicker to serialize than with 17-digit doubles.
          chunkOffsets.push(Math.round((stamp - record.sentAtMs) * 1000) / 1000)
        } else if (effect === 'done') {
          finish(undefined, stamp)
        } else if (effect === 'error') {
          const error = state.error!
          // A truncated final line dispatched by the end-of-body flush is a cut stream, not bad JSON.
          if (atEof && error.category === 'malformed_sse') return
          finish(error, stamp)
          if (error.category === 'malformed_sse') releaseSlot(true)
        }
      }

      /** The body ended (`cause` undefined) or the connection dropped under it. */
      const bodyOver = (cause?: Error) => {
        if (settled) return
        const endedAtMs = cause ? nowMs() : s.readAtMs || nowMs()
        if (mode === 'error') return finish(httpError(status, statusText, Buffer.concat(parts).toString('utf8')), endedAtMs)
        if (mode === 'whole') {
          if (cause) return finish({category: 'stream_cut', message: `connection closed before the response body completed (${describeError(cause)})`}, endedAtMs)
          const text = Buffer.concat(parts).toString('utf8')
          if (opts.api === 'responses') applyResponsesBody(state, text)
          else applyResponseBody(state, text)
          return finish(state.error, endedAtMs)
        }
        stamp = endedAtMs
        atEof = true
        sse!.end()
        if (settled) return
        if (state.finishReason !== undefined) finish(undefined, stamp)
        else if (cause) finish({category: 'stream_cut', message: `connection closed before the stream ended (${describeError(cause)})`}, stamp)
        else finish({category: 'stream_cut', message: 'stream ended before [DONE] and without a finish_reason'}, stamp)
      }

      s.client.dispatch(
        {path: ctx.path, method: 'POST', headers: ctx.headers, body: planned.body},
        {
          onConnect: () => {},
          onHeaders: (statusCode: number, rawHeaders: Buffer[] | string[] | null, _resume: () => void, text?: string) => {
            if (my !== attempt) return true
            responded = true
            record.headersAtMs = s.readAtMs || nowMs()
            noteConnection(s)
            status = statusCode
            statusText = text ?? ''
            const contentType = headerValue(rawHeaders, 'content-type')
            if (status < 200 || status >= 300) mode = 'error'
            // Some servers ignore `stream: true` or answer with a JSON body (often an error) and status 200.
            else if (!opts.stream || (contentType.includes('json') && !contentType.includes('event-stream'))) mode = 'whole'
            else {
              mode = 'stream'
              streamed = true
              sse = createSseParser(onSseData)
            }
            return true
          },
          onData: (chunk: Buffer) => {
            if (my !== attempt || settled) return true
            if (mode === 'stream') {
              // The arrival of the socket read that delivered these bytes, shared by every event parsed from it.
              stamp = s.readAtMs || nowMs()
              sse!.feed(chunk)
            } else if (mode === 'whole' || size < ERROR_BODY_BYTES) {
              parts.push(chunk)
              size += chunk.length
            }
            return true
          },
          onComplete: () => {
            if (my !== attempt) return
            bodyOver()
            releaseSlot(false)
          },
          onError: (err: NodeJS.ErrnoException) => {
            if (my !== attempt) return
            // A keep-alive socket the server closed while idle fails the first write; nothing reached the server,
            // so resending on a new connection is safe (the pattern Node's request.reusedSocket docs give).
            if (!responded && !settled && !retried && noteConnection(s) && isStaleSocketError(err)) {
              retried = true
              pool.reset(s)
              dispatch(s)
              return
            }
            if (!responded) finish(classifyRequestError(err))
            else bodyOver(err)
            releaseSlot(false)
          },
        },
      )
    }

    /** Records whether the request reused a kept-alive connection (else how long its own connect took); returns the former. */
    function noteConnection(s: Slot): boolean {
      const reused = s.connects === connectsAtDispatch
      record.reusedConnection = reused
      record.connectMs = reused ? undefined : s.connectMs
      return reused
    }

    function armTimers(): void {
      clearTimers()
      const timeoutMs = timerDelay(opts.timeoutMs)
      if (timeoutMs !== undefined) {
        wholeTimer = setTimeout(() => {
          finish({category: 'timeout', message: `no complete response within ${opts.timeoutMs} ms (--timeout)`})
          releaseSlot(true)
        }, timeoutMs)
      }
      const firstTokenTimeoutMs = timerDelay(opts.firstTokenTimeoutMs)
      if (opts.stream && firstTokenTimeoutMs !== undefined && (timeoutMs === undefined || firstTokenTimeoutMs < timeoutMs)) {
        firstTokenTimer = setTimeout(() => {
          finish({category: 'first_token_timeout', message: `no content within ${firstTokenTimeoutMs} ms of sending`})
          releaseSlot(true)
        }, firstTokenTimeoutMs)
      }
    }

    if (signal?.aborted) {
      record.sentAtMs = nowMs()
      finish({category: 'cancelled', message: 'request cancelled before it was sent'}, record.sentAtMs)
      return
    }
    if (signal) ctx.watchCancel(signal)
    watching = signal !== undefined
    paced(start)
  })
}

/** A response header's value from undici's raw [name, value, …] list (names in any case), or ''. */
function headerValue(raw: Buffer[] | string[] | null, name: string): string {
  if (!raw) return ''
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].toString().toLowerCase() === name) return raw[i + 1].toString()
  }
  return ''
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

/** The warm-up itself: `n` parallel GETs, one per slot, each resolving to whether a response completed. */
async function warmConnections(pool: ConnectionPool, n: number, url: URL, origin: string, headers: string[], timeoutMs: number): Promise<number> {
  // Only connections to the endpoint's own origin are ones a measured request can reuse.
  if (url.origin !== origin || n <= 0) return 0
  const slots: Slot[] = []
  for (let i = 0; i < n; i++) {
    const slot = pool.acquire()
    if (slot instanceof Promise) {
      void slot.then((s) => pool.release(s)) // every slot busy: nothing left to warm
      break
    }
    slots.push(slot)
  }
  const limitMs = timerDelay(timeoutMs) ?? 10_000
  const one = (slot: Slot) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        pool.reset(slot)
        resolve(false)
      }, limitMs)
      const done = (ok: boolean) => {
        clearTimeout(timer)
        resolve(ok)
      }
      slot.client.dispatch(
        {path: url.pathname + url.search, method: 'GET', headers},
        {onConnect: () => {}, onHeaders: () => true, onData: () => true, onComplete: () => done(true), onError: () => done(false)},
      )
    })
  const results = await Promise.all(slots.map(one))
  for (const slot of slots) pool.release(slot)
  return results.filter(Boolean).length
}
