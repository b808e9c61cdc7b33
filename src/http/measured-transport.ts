/**
 * The measured HTTP path: POST one planned request on a slot of the connection pool, pump the body through
 * sse.ts → openai-stream.ts (or responses-stream.ts), stamp times, and return a RequestRecord. Failures become
 * records, never exceptions.
 *
 * Stamps are the arrival of the socket read that delivered the bytes (`Http1Connection.readAtMs`), taken before
 * the bytes are parsed; the response callbacks run synchronously inside that read. Why not fetch/ky here: a
 * fetch + web-streams client measurably adds ~1.5–2.5 ms to every TTFT (reader promises, TextDecoderStream, a
 * microtask hop per chunk) and ~30 ms to a process's first request — the very quantities this tool reports.
 * Why our own connection and not undici or node:http: see http1-connection.ts.
 */
import type {RequestError, RequestRecord} from '../record/record.js'
import {nowMs} from '../record/clock.js'
import {createSseParser, SSE_ERROR_EVENT, type SseParser} from './sse.js'
import {applyErrorEvent, applyResponseBody, applyStreamEventBytes, createStreamState, emptyStreamError, PreviewChars, previewOf, type StreamState} from './openai-stream.js'
import {applyResponsesBody, applyResponsesStreamEvent} from './responses-stream.js'
import {modelsUrlOf} from './endpoint.js'
import {ConnectionPool, type Slot, type SlotHolder} from './connection-pool.js'
import type {ResponseHandler} from './http1-connection.js'
import {paced} from './pacing.js'
import {collectYoungGenerationIfFilled, settleYoungGeneration} from '../perf/young-generation.js'
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
    // Said explicitly: with no accept-encoding a server may compress (RFC 9110), and we cannot read that (see Attempt.onHeaders).
    'accept-encoding': 'identity',
    ...opts.headers,
    ...(auth ? {authorization: auth} : {}),
  })
  const warmupHeaders = flatHeaders({...opts.headers, accept: 'application/json', ...(auth ? {authorization: auth} : {})})
  const settings: ExchangeSettings = {api: opts.api, stream: opts.stream, timeoutMs: opts.timeoutMs, firstTokenTimeoutMs: opts.firstTokenTimeoutMs, endpoint: opts.endpoint}
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
  const limits = {
    timeoutMs: timerDelay(opts.timeoutMs) ?? Infinity,
    firstTokenTimeoutMs: (opts.stream && timerDelay(opts.firstTokenTimeoutMs)) || Infinity,
  }
  const ctx: ExchangeContext = {opts: settings, limits, pool, headers, path: opts.endpoint.pathname + opts.endpoint.search, redact: makeRedactor(opts.apiKey), watchCancel, unwatchCancel, readers: new Map(), firstTokenWaits: 0, youngCheckedAtMs: 0}
  return {
    endpoint: opts.endpoint,
    send: (request, sendOpts) => exchange(ctx, request, sendOpts.queuedAtMs, sendOpts.signal),
    async preconnect(n, url) {
      // Each warmed slot's stream reader is made now too, not among the first wave's objects (see StreamReader).
      const prepare = opts.stream ? (slot: Slot) => void readerOf(ctx, slot) : undefined
      const count = await warmConnections(pool, n, url ?? modelsUrlOf(opts.endpoint), opts.endpoint.origin, warmupHeaders, opts.timeoutMs, prepare)
      settleYoungGeneration()
      return count
    },
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
  /** Only to resolve a redirect's relative `Location` in its error. */
  endpoint: URL
}

interface ExchangeContext {
  opts: ExchangeSettings
  /** --timeout and --first-token-timeout (streams only) in ms, Infinity for none. */
  limits: {timeoutMs: number; firstTokenTimeoutMs: number}
  pool: ConnectionPool
  /** Request headers as a flat [name, value, …] list, built once per transport. */
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
  /** Each slot's stream reader, made at its first stream. */
  readers: Map<Slot, StreamReader>
  /**
   * Streams sent that have not had their first token yet. When it falls to 0, a young-generation collection is taken
   * if the young generation is filling up (see Exchange.firstTokenCame): its pause stamps nothing late that TTFT is
   * made of. At 256 streams, every run's collections had fallen at the same moments, one of them as a wave's first
   * tokens arrived (TTFT +2 ms for those read during it); taken early, they fall once the wave's first tokens are in.
   */
  firstTokenWaits: number
  /** When the young generation was last looked at for that (nowMs clock). */
  youngCheckedAtMs: number
}

/**
 * How full the young generation must be for a collection to be taken early, and how often it is looked at. A
 * collection's pause is set by what survives, not by how full it is, so taking it at half full costs no longer pause.
 */
const EARLY_COLLECTION_FILL = 0.5
const EARLY_COLLECTION_CHECK_MS = 20


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
  return new Promise<RequestRecord>((resolve) => new Exchange(ctx, planned, queuedAtMs, signal, resolve).begin())
}

/**
 * The state of one request, and what happens to it: waiting for its pacing turn and a slot, dispatched (see
 * {@link Attempt}), settled. Objects with methods rather than closures per request: at 40 k requests/s the dozen
 * closures and their contexts an exchange used to allocate were a measurable share of the client's time.
 */
class Exchange implements SlotHolder {
  readonly record: RequestRecord
  settled = false
  state: StreamState = createStreamState()
  /** Its slot's stream reader while the response is a stream (the content-chunk arrival times are kept there). */
  reader: StreamReader | undefined = undefined
  /** The slot this request holds, from acquiring it until its HTTP exchange is over. */
  slot: Slot | undefined = undefined
  /** The dispatch whose callbacks count: a superseded one's (resent, or cut short) are ignored. */
  current: Attempt | undefined = undefined
  /** The slot's connect count when the request was dispatched: a change means it opened its own connection. */
  private connectsAtDispatch = 0
  private retried = false
  /** Counted in ctx.firstTokenWaits. */
  waitsForFirstToken = false
  /** Whether this exchange counts as a user of `signal` (see ExchangeContext.watchCancel) until it settles. */
  private watching = false
  /** Deadlines on the nowMs clock, Infinity for none: --timeout, --first-token-timeout, the drain after settling. */
  private wholeDueMs = Infinity
  private firstTokenDueMs = Infinity
  private drainDueMs = Infinity

  constructor(
    readonly ctx: ExchangeContext,
    private readonly planned: PlannedRequest,
    queuedAtMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (record: RequestRecord) => void,
  ) {
    this.record = {
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
    if (planned.inputLength) this.record.inputLength = planned.inputLength
  }

  begin(): void {
    const signal = this.signal
    if (signal?.aborted) {
      this.record.sentAtMs = nowMs()
      return this.finish({category: 'cancelled', message: 'request cancelled before it was sent'}, this.record.sentAtMs)
    }
    if (signal) {
      this.ctx.watchCancel(signal)
      this.watching = true
    }
    paced(() => this.start())
  }

  private start(): void {
    if (this.settled) return
    if (this.signal?.aborted) return this.cancelled() // cancelled while waiting for its turn in the pacing queue
    const acquired = this.ctx.pool.acquire()
    if (acquired instanceof Promise) void acquired.then((s) => this.dispatch(s))
    else this.dispatch(acquired)
  }

  private dispatch(s: Slot): void {
    const {ctx, record} = this
    if (this.settled) return ctx.pool.release(s)
    if (this.signal?.aborted) {
      ctx.pool.release(s)
      return this.cancelled() // cancelled while waiting for a slot
    }
    this.slot = s
    // Cancelled through the slot, see ExchangeContext.watchCancel.
    s.holder = this
    s.cancelSignal = this.signal
    if (this.current !== undefined) {
      // A resend: nothing of the first attempt's response counts.
      this.state = createStreamState()
      this.reader = undefined
    }
    const attempt = new Attempt(this, s)
    this.current = attempt
    if (ctx.opts.stream && !this.waitsForFirstToken) {
      this.waitsForFirstToken = true
      ctx.firstTokenWaits++
    }
    // Stamped once the request has its connection slot: waiting for one is queue time. A connect the warm-up
    // did not cover is inside TTFT (and in connectMs), never silently excluded.
    record.sentAtMs = nowMs()
    this.connectsAtDispatch = s.connection.connects
    const {timeoutMs, firstTokenTimeoutMs} = ctx.limits
    this.wholeDueMs = record.sentAtMs + timeoutMs
    this.firstTokenDueMs = firstTokenTimeoutMs < timeoutMs ? record.sentAtMs + firstTokenTimeoutMs : Infinity
    s.alarm(Math.min(this.wholeDueMs, this.firstTokenDueMs))
    s.connection.dispatch({path: ctx.path, method: 'POST', headers: ctx.headers, body: this.planned.body}, attempt)
  }

  /** A keep-alive socket the server closed while idle fails the first write: resends once on a new connection. */
  resendAfterStaleSocket(s: Slot, err: NodeJS.ErrnoException): boolean {
    // Nothing reached the server, so resending is safe (the pattern Node's request.reusedSocket docs give).
    if (this.settled || this.retried || !this.noteConnection(s) || !isStaleSocketError(err)) return false
    this.retried = true
    this.ctx.pool.reset(s)
    this.dispatch(s)
    return true
  }

  /** Settles the record once; later events (a [DONE] after a timeout, the body's end after [DONE]) are ignored. */
  finish(error: RequestError | undefined, endedAtMs = nowMs()): void {
    if (this.settled) return
    this.settled = true
    const {record, ctx, slot} = this
    if (this.waitsForFirstToken) this.firstTokenCame()
    // Cancelled while still waiting for its pacing slice or a slot: never sent, so the send stamp is the cancel.
    if (record.sentAtMs === 0) record.sentAtMs = endedAtMs
    if (slot) this.noteConnection(slot)
    if (this.watching) ctx.unwatchCancel(this.signal!)
    record.endedAtMs = endedAtMs
    fillFromState(record, this.state, this.reader?.take())
    // A server (or proxy) may echo the Authorization header as text; the preview goes to requests.jsonl.
    if (record.outputPreview) record.outputPreview = ctx.redact(record.outputPreview)
    if (error) {
      record.ok = false
      record.error = {...error, message: ctx.redact(error.message)}
    } else {
      record.ok = true
    }
    if (slot) {
      // The body may still be ending (the chunk terminator after [DONE]): bound that wait so the slot comes back.
      this.drainDueMs = this.wholeDueMs < Infinity ? this.wholeDueMs : endedAtMs + DRAIN_LIMIT_MS
      slot.alarm(this.drainDueMs)
    }
    paced(() => this.resolve(record))
  }

  /** The first token came (or never will): one stream less waits for it (see ExchangeContext.firstTokenWaits). */
  firstTokenCame(): void {
    this.waitsForFirstToken = false
    const ctx = this.ctx
    if (--ctx.firstTokenWaits > 0) return
    const now = nowMs()
    if (now - ctx.youngCheckedAtMs < EARLY_COLLECTION_CHECK_MS) return
    ctx.youngCheckedAtMs = now
    collectYoungGenerationIfFilled(EARLY_COLLECTION_FILL)
  }

  /** The HTTP exchange is over: the slot goes back to the pool (with a new socket if it was cut short). */
  releaseSlot(cut: boolean): void {
    const s = this.slot
    if (!s) return
    this.current = undefined
    s.holder = s.cancelSignal = undefined
    s.alarm(Infinity)
    if (cut) this.ctx.pool.reset(s)
    this.ctx.pool.release(s)
    this.slot = undefined
  }

  cancelled(): void {
    this.finish({category: 'cancelled', message: 'request cancelled'})
    this.releaseSlot(true)
  }

  alarmDue(): void {
    const now = nowMs()
    const {opts} = this.ctx
    if (this.settled) {
      if (now >= this.drainDueMs) this.releaseSlot(true)
      else this.slot?.alarm(this.drainDueMs)
    } else if (now >= this.wholeDueMs) {
      this.finish({category: 'timeout', message: `no complete response within ${opts.timeoutMs} ms (--timeout)`})
      this.releaseSlot(true)
    } else if (now >= this.firstTokenDueMs && this.record.firstTokenAtMs === undefined) {
      this.finish({category: 'first_token_timeout', message: `no content within ${this.ctx.limits.firstTokenTimeoutMs} ms of sending`})
      this.releaseSlot(true)
    } else {
      // The first token came in time: only the whole deadline is left.
      this.slot?.alarm(this.record.firstTokenAtMs === undefined ? Math.min(this.wholeDueMs, this.firstTokenDueMs) : this.wholeDueMs)
    }
  }

  /** Records whether the request reused a kept-alive connection (else how long its own connect took); returns the former. */
  noteConnection(s: Slot): boolean {
    const reused = s.connection.connects === this.connectsAtDispatch
    this.record.reusedConnection = reused
    this.record.connectMs = reused ? undefined : s.connection.connectMs
    return reused
  }
}

/**
 * What the streams of one slot reuse, one after the other: the SSE parser, the preview's characters and the buffer
 * of content-chunk arrival times. Made per stream they were ≈ 2 kB that lived as long as the stream, so the
 * young-generation collection after a wave of new streams had to copy them; its pause stamps the first tokens arriving meanwhile late. Measured
 * at 256 streams: what a collection copied after a wave 1.3 → 0.65 MB, its pause ≈ 2.3 → 1.2–1.7 ms.
 */
class StreamReader {
  readonly sse: SseParser
  /** The stream's preview text (see PreviewChars). */
  readonly preview = new PreviewChars()
  /** Whose stream it reads; the reader keeps nothing of an exchange once its offsets are taken. */
  private attempt: Attempt | undefined = undefined
  private offsets = new Float64Array(128)
  private count = 0

  constructor() {
    this.sse = createSseParser((bytes, start, end, event) => this.attempt?.onEvent(bytes, start, end, event))
  }

  start(attempt: Attempt): void {
    this.attempt = attempt
    this.count = 0
    this.sse.restart()
    this.preview.clear()
  }

  /** A content chunk arrived `offsetMs` after the request was sent. */
  push(offsetMs: number): void {
    if (this.count === this.offsets.length) {
      const bigger = new Float64Array(2 * this.count)
      bigger.set(this.offsets)
      this.offsets = bigger
    }
    this.offsets[this.count++] = offsetMs
  }

  /** The stream is settled: its arrival times for the record, and the reader lets go of it. */
  take(): number[] {
    this.attempt = undefined
    const n = this.count
    const out = new Array<number>(n)
    // Whole microseconds: finer than any gap measured, and a record's line in requests.jsonl is half as long
    // (≈ 1.1 instead of 2.1 kB for 100 chunks) and ~20 % quicker to serialize than with 17-digit doubles.
    for (let i = 0; i < n; i++) out[i] = Math.round(this.offsets[i] * 1000) / 1000
    return out
  }
}

/** `slot`'s stream reader, made the first time it is asked for. */
function readerOf(ctx: ExchangeContext, slot: Slot): StreamReader {
  let reader = ctx.readers.get(slot)
  if (reader === undefined) ctx.readers.set(slot, (reader = new StreamReader()))
  return reader
}

/**
 * One dispatch of an exchange on its slot: the connection's response handler, and the response's reading state. Callbacks of an
 * attempt that is no longer the exchange's current one (resent, or cut short) are ignored.
 */
class Attempt implements ResponseHandler {
  private mode: BodyMode = 'whole'
  private status = 0
  private statusText = ''
  /** A redirect's `Location` header, for the error ('' otherwise). */
  private location = ''
  /** A 429's or 503's `Retry-After` header, for the error ('' otherwise). */
  private retryAfter = ''
  private responded = false
  /** A whole (or error) body's pieces; the error body only up to ERROR_BODY_BYTES. */
  private parts: Buffer[] | undefined = undefined
  private size = 0
  /** The arrival of the socket read being parsed, shared by every event parsed from it. */
  private stamp = 0
  private atEof = false

  constructor(
    private readonly x: Exchange,
    private readonly slot: Slot,
  ) {}

  onHeaders(statusCode: number, rawHeaders: string[], text: string): void {
    const x = this.x
    if (x.current !== this) return
    this.responded = true
    x.record.headersAtMs = this.slot.connection.readAtMs
    x.noteConnection(this.slot)
    this.status = statusCode
    this.statusText = text
    const contentType = headerValue(rawHeaders, 'content-type')
    const encoding = statusCode >= 200 && statusCode < 300 ? headerValue(rawHeaders, 'content-encoding') : ''
    if (encoding !== '' && encoding.trim().toLowerCase() !== 'identity') {
      // Not decoded on purpose: a compressor holds tokens back until its buffer flushes, so every stamp taken on the
      // compressed bytes would be late by an unknown amount; the numbers would look fine and be wrong.
      x.finish({category: 'other', message: compressedMessage(encoding)}, x.record.headersAtMs)
      return x.releaseSlot(true)
    }
    if (statusCode >= 300 && statusCode < 400) this.location = headerValue(rawHeaders, 'location')
    if (statusCode === 429 || statusCode === 503) this.retryAfter = headerValue(rawHeaders, 'retry-after')
    if (statusCode < 200 || statusCode >= 300) this.mode = 'error'
    // Some servers ignore `stream: true` or answer with a JSON body (often an error) and status 200.
    else if (!x.ctx.opts.stream || (contentType.includes('json') && !contentType.includes('event-stream'))) this.mode = 'whole'
    else {
      this.mode = 'stream'
      const reader = readerOf(x.ctx, this.slot)
      reader.start(this)
      x.reader = reader
      x.state.previewChars = reader.preview
    }
  }

  onData(bytes: Buffer, start: number, end: number): void {
    if (this.x.current !== this || this.x.settled) return
    if (this.mode === 'stream') {
      this.stamp = this.slot.connection.readAtMs
      this.x.reader!.sse.feed(bytes, start, end)
    } else if (this.mode === 'whole' || this.size < ERROR_BODY_BYTES) {
      // A copy: the bytes live in the connection's read buffer, which the next read overwrites.
      const part = Buffer.allocUnsafe(end - start)
      bytes.copy(part, 0, start, end)
      ;(this.parts ??= []).push(part)
      this.size += part.length
    }
  }

  onComplete(): void {
    if (this.x.current !== this) return
    this.bodyOver()
    this.x.releaseSlot(false)
  }

  onError(err: NodeJS.ErrnoException): void {
    const x = this.x
    if (x.current !== this) return
    if (!this.responded && x.resendAfterStaleSocket(this.slot, err)) return
    if (!this.responded) x.finish(classifyRequestError(err))
    else this.bodyOver(err)
    x.releaseSlot(false)
  }

  /** One SSE event's data, `bytes[start, end)` (valid only during the call), and its `event:` type if it had one. */
  onEvent(bytes: Buffer, start: number, end: number, event: string | undefined): void {
    const x = this.x
    if (x.settled) return
    const effect =
      event === SSE_ERROR_EVENT
        ? applyErrorEvent(x.state, bytes.toString('utf8', start, end))
        : x.ctx.opts.api === 'responses'
          ? applyResponsesStreamEvent(x.state, bytes.toString('utf8', start, end))
          : applyStreamEventBytes(x.state, bytes, start, end)
    if (effect === 'content') {
      const record = x.record
      if (record.firstTokenAtMs === undefined) {
        record.firstTokenAtMs = this.stamp
        if (x.waitsForFirstToken) x.firstTokenCame()
      }
      record.lastTokenAtMs = this.stamp
      x.reader!.push(this.stamp - record.sentAtMs)
    } else if (effect === 'done') {
      x.finish(emptyStreamError(x.state), this.stamp)
    } else if (effect === 'error') {
      const error = x.state.error!
      // A truncated final line dispatched by the end-of-body flush is a cut stream, not bad JSON.
      if (this.atEof && error.category === 'malformed_sse') return
      x.finish(error, this.stamp)
      if (error.category === 'malformed_sse') x.releaseSlot(true)
    }
  }

  /** The body ended (`cause` undefined) or the connection dropped under it. */
  private bodyOver(cause?: Error): void {
    const x = this.x
    if (x.settled) return
    const endedAtMs = cause ? nowMs() : this.slot.connection.readAtMs
    if (this.mode === 'error') return x.finish(httpError(this.status, this.statusText, this.bodyText(), {location: this.location, endpoint: x.ctx.opts.endpoint, retryAfter: this.retryAfter}), endedAtMs)
    if (this.mode === 'whole') {
      if (cause) return x.finish({category: 'stream_cut', message: `connection closed before the response body completed (${describeError(cause)})`}, endedAtMs)
      if (x.ctx.opts.api === 'responses') applyResponsesBody(x.state, this.bodyText())
      else applyResponseBody(x.state, this.bodyText())
      return x.finish(x.state.error, endedAtMs)
    }
    this.stamp = endedAtMs
    this.atEof = true
    x.reader!.sse.end()
    if (x.settled) return
    if (x.state.finishReason !== undefined) x.finish(undefined, endedAtMs)
    else if (cause) x.finish({category: 'stream_cut', message: `connection closed before the stream ended (${describeError(cause)})`}, endedAtMs)
    else x.finish({category: 'stream_cut', message: 'stream ended before [DONE] and without a finish_reason'}, endedAtMs)
  }

  private bodyText(): string {
    const parts = this.parts
    if (parts === undefined) return ''
    return (parts.length === 1 ? parts[0] : Buffer.concat(parts, this.size)).toString('utf8')
  }
}

/** Why a compressed 2xx body cannot be measured, naming the header and what to change. */
function compressedMessage(encoding: string): string {
  return (
    `the server or a proxy compressed the response (content-encoding: ${encoding.trim()}) although dual-bench asks for accept-encoding: identity; ` +
    'dual-bench does not decode it, because a compressor holds tokens back until its buffer flushes and TTFT/ITL would be measured late. ' +
    'Turn off compression for this route (e.g. gzip/compression settings of the proxy in front of the server)'
  )
}

/** A response header's value from the raw [name, value, …] list (names in any case), or ''. */
function headerValue(raw: string[], name: string): string {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // Only a name of the right length is lower-cased and compared.
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) return raw[i + 1]
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
  if (state.reasoningTokens !== undefined) {
    record.reasoningTokens = state.reasoningTokens
    record.reasoningStreamed = state.reasoningStreamed
  }
  if (state.inputTokens !== undefined) record.inputTokens = state.inputTokens
  if (state.cachedTokens !== undefined) {
    record.cachedTokens = state.cachedTokens
    record.cachedTokensSource = state.cachedTokensSource
  }
  if (state.finishReason !== undefined) record.finishReason = state.finishReason
  const preview = previewOf(state)
  if (preview !== '') record.outputPreview = preview
  // The reader's buffer goes on to the slot's next stream.
  state.previewChars = undefined
}

/** The warm-up itself: `n` parallel GETs, one per slot, each resolving to whether a response completed. */
async function warmConnections(pool: ConnectionPool, n: number, url: URL, origin: string, headers: string[], timeoutMs: number, prepare?: (slot: Slot) => void): Promise<number> {
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
      slot.connection.dispatch(
        {path: url.pathname + url.search, method: 'GET', headers},
        {onHeaders: () => {}, onData: () => {}, onComplete: () => done(true), onError: () => done(false)},
      )
    })
  const results = await Promise.all(slots.map(one))
  for (const slot of slots) {
    prepare?.(slot)
    pool.release(slot)
  }
  return results.filter(Boolean).length
}
