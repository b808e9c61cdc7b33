import type {IncomingMessage, ServerResponse} from 'node:http'
import {performance} from 'node:perf_hooks'
import {completionBody, DONE_EVENT, errorEventFrame, outputWord, StreamFrames, timingsObject, usageObject, type UsageNumbers} from './chunks.js'
import {drawFaults, type FaultPlan} from './faults.js'
import {SimMetrics} from './metrics.js'
import type {ResolvedSimOptions} from './options.js'
import {blockHashes, cacheableHashes, PrefixCache} from './prefix-cache.js'
import {PrefillQueue, type PrefillTicket} from './prefill-queue.js'
import {errorBody, parseCompletionBody, type SimApi, type SimError, type SimRequest} from './protocol.js'
import {createRng} from '../prng.js'
import {Scheduler, type Timer} from './scheduler.js'

/** Counters the simulator keeps about itself, served at GET /sim/stats so tests can compare client and server. */
export interface SimStats {
  /** Requests that arrived at /v1/chat/completions or /v1/completions (valid or not). */
  requests: number
  /** Requests answered in full (streams that reached [DONE], non-streaming 200s). */
  completions: number
  /** Completion requests between arrival and the end of their response. */
  inFlight: number
  /** Highest inFlight seen since start or the last resetStats(). */
  maxInFlight: number
  /** GET /metrics served. */
  metricsScrapes: number
  /** Faults actually applied (a drawn fault the client escaped by disconnecting first is not counted). */
  injected: {fail: number; drop: number; garbage: number; slow: number; errorEvent: number}
  /** Times the cache was cleared through /reset_prefix_cache or /flush_cache. */
  cacheResets: number
}

const MAX_BODY_BYTES = 64 * 1024 * 1024
/** Simulated KV bytes per token (a 7B fp16 model: 2 × 32 layers × 4096 × 2 bytes), for memory_usage_bytes. */
const KV_BYTES_PER_TOKEN = 524288
/** Tokens emitted before a mid-stream fault fires ("a few"); fewer when the completion is shorter. */
const FAULT_AFTER_TOKENS = 3
/** A token due within this much of now counts as due (matches the scheduler's early-run window). */
const OVERDUE_MS = 0.5

function emptyStats(): SimStats {
  return {requests: 0, completions: 0, inFlight: 0, maxInFlight: 0, metricsScrapes: 0, injected: {fail: 0, drop: 0, garbage: 0, slow: 0, errorEvent: 0}, cacheResets: 0}
}

/** Epoch ms with sub-ms precision, as the sim_timing stamps promise. */
const epochMs = () => performance.timeOrigin + performance.now()

/**
 * The simulated inference server: prefix cache, prefill queue, shared token clock, metrics, fault
 * injection and stats. Knows nothing about routing; `server.ts` hands it completion requests.
 */
export class SimEngine {
  readonly cache: PrefixCache
  readonly metrics: SimMetrics
  private readonly scheduler = new Scheduler()
  private readonly prefill: PrefillQueue
  private readonly rand: () => number
  private readonly active = new Set<() => void>()
  private stats_ = emptyStats()
  private seq = 0
  private decoding = 0
  private lastHitRate = 0

  constructor(readonly opts: ResolvedSimOptions) {
    this.cache = new PrefixCache(opts.cacheBlocks)
    this.prefill = new PrefillQueue(this.scheduler, opts.serialPrefill)
    this.rand = createRng(opts.seed)
    this.metrics = new SimMetrics(opts.model, {
      running: () => this.prefill.prefillingCount + this.decoding,
      waiting: () => this.prefill.waitingCount,
      kvUsage: () => this.cache.usage,
      memoryBytes: () => this.cache.size * opts.blockSize * KV_BYTES_PER_TOKEN,
      lastHitRate: () => this.lastHitRate,
    })
  }

  stats(): SimStats {
    return structuredClone(this.stats_)
  }

  resetStats(): void {
    const inFlight = this.stats_.inFlight
    this.stats_ = {...emptyStats(), inFlight, maxInFlight: inFlight}
  }

  countScrape(): void {
    this.stats_.metricsScrapes++
  }

  resetCache(): void {
    this.cache.clear()
    this.stats_.cacheResets++
  }

  /** Cancels every request in progress (server closing). */
  shutdown(): void {
    for (const cancel of [...this.active]) cancel()
    this.prefill.clear()
    this.scheduler.clear()
  }

  /** Serves POST /v1/chat/completions or /v1/completions from arrival to the end of the response. */
  handle(api: SimApi, req: IncomingMessage, res: ServerResponse): void {
    const arrival = performance.now()
    const stats = this.stats_
    stats.requests++
    stats.inFlight++
    if (stats.inFlight > stats.maxInFlight) stats.maxInFlight = stats.inFlight
    const faults = drawFaults(this.rand, this.opts)

    let run: RequestRun | undefined
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      // resetStats() may have swapped the object; decrement the live one.
      this.stats_.inFlight--
      this.active.delete(cancel)
      run?.abandon()
    }
    const cancel = () => {
      end()
      res.destroy()
    }
    this.active.add(cancel)
    res.on('finish', end)
    res.on('close', end)

    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY_BYTES) {
        sendError(res, {status: 413, message: `Request body larger than ${MAX_BODY_BYTES} bytes`, type: 'BadRequestError'}, true)
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('error', () => end())
    req.on('end', () => {
      if (ended || res.headersSent) return
      const parsed = parseCompletionBody(api, Buffer.concat(chunks).toString('utf8'))
      if (!parsed.ok) return sendError(res, parsed.error)
      const r = parsed.request
      if (r.model !== undefined && r.model !== this.opts.model) {
        return sendError(res, {status: 404, message: `The model \`${r.model}\` does not exist.`, type: 'NotFoundError', param: 'model'})
      }
      if (this.opts.rejectStreamOptions && r.hasStreamOptions) {
        return sendError(res, {status: 400, message: "1 validation error: stream_options: Extra inputs are not permitted (this server does not accept stream_options; send the request without it)", type: 'BadRequestError', param: 'stream_options'})
      }
      if (faults.fail) {
        this.injected('fail')
        return sendError(res, {status: 500, message: 'simulated failure', type: 'server_error'})
      }
      run = new RequestRun(this, r, faults, res, arrival)
      run.start()
    })
  }

  // ---- hooks used by RequestRun (kept here because they touch shared state) ----

  /** Prefill scheduling: lookup at start, insert at completion. */
  submitPrefill(hashes: readonly string[], promptTokens: number, onDone: (cachedTokens: number, prefillMs: number) => void): PrefillTicket {
    let cached = 0
    let ms = 0
    return this.prefill.submit({
      start: () => {
        const matched = this.cache.match(cacheableHashes(hashes, promptTokens, this.opts.blockSize))
        cached = matched * this.opts.blockSize
        ms = (promptTokens - cached) * this.opts.prefillMsPerToken
        this.metrics.onPrefill(promptTokens, cached)
        return ms
      },
      done: () => {
        this.cache.insert(hashes)
        onDone(cached, ms)
      },
    })
  }

  at(due: number, fn: () => void): Timer {
    return this.scheduler.at(due, fn)
  }

  nextId(api: SimApi): string {
    return `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-sim${(++this.seq).toString(16).padStart(8, '0')}`
  }

  decodingDelta(d: number): void {
    this.decoding += d
  }

  injected(kind: keyof SimStats['injected']): void {
    this.stats_.injected[kind]++
  }

  /** A request was answered in full; its hit share becomes lmcache_hit_rate. */
  completed(promptTokens: number, cachedTokens: number): void {
    this.stats_.completions++
    this.lastHitRate = promptTokens > 0 ? cachedTokens / promptTokens : 0
  }
}

function sendError(res: ServerResponse, e: SimError, close = false): void {
  if (res.headersSent || res.destroyed) return
  const body = errorBody(e)
  res.writeHead(e.status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(close ? {connection: 'close'} : {})})
  res.end(body)
}

/**
 * Drops the connection mid-response. destroySoon() flushes what was already written and then closes, so the
 * client gets exactly the tokens sent before the cut even when the write and the cut land in one tick.
 */
function cut(res: ServerResponse): void {
  if (res.socket) res.socket.destroySoon()
  else res.destroy()
}

/** One accepted completion request: prefill → first token → steady tokens → end, or cut short by a fault or the client. */
class RequestRun {
  private readonly id: string
  private readonly created = Math.floor(Date.now() / 1000)
  private readonly outputTokens: number
  private readonly finishReason: string
  private readonly wordOffset: number
  private readonly faultAt: number
  private ticket?: PrefillTicket
  private timer?: Timer
  private written = 0
  private decodingCounted = false
  private over = false
  private cachedTokens = 0
  private prefillMs = 0
  private firstAt = 0
  private firstWriteMs = 0
  private frames?: StreamFrames

  constructor(private readonly engine: SimEngine, private readonly r: SimRequest, private readonly faults: FaultPlan, private readonly res: ServerResponse, private readonly arrival: number) {
    this.id = engine.nextId(r.api)
    this.outputTokens = r.maxTokens ?? engine.opts.defaultOutputTokens
    // With max_tokens the simulated model always runs to the limit ("length"); otherwise it "stops" at its default.
    this.finishReason = r.maxTokens === undefined ? 'stop' : 'length'
    this.wordOffset = r.promptTokens.length
    this.faultAt = Math.min(FAULT_AFTER_TOKENS, Math.floor(this.outputTokens / 2))
  }

  start(): void {
    const {promptTokens} = this.r
    const hashes = blockHashes(promptTokens, this.engine.opts.blockSize)
    this.ticket = this.engine.submitPrefill(hashes, promptTokens.length, (cached, ms) => {
      this.ticket = undefined
      this.cachedTokens = cached
      this.prefillMs = ms
      this.engine.decodingDelta(1)
      this.decodingCounted = true
      let delay = this.engine.opts.baseTtftMs
      // Counted when the delay is applied: a client that gives up during it (its timeout) still met the fault.
      if (this.faults.slow) {
        delay += this.engine.opts.slowMs
        this.engine.injected('slow')
      }
      this.timer = this.engine.at(performance.now() + delay, () => this.first())
    })
  }

  /** The client went away or the server is closing: stop all work for this request. */
  abandon(): void {
    if (this.over) return
    this.finish(undefined)
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
    this.frames = new StreamFrames(this.r.api, this.id, this.created, this.engine.opts.model)
    this.res.writeHead(200, {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive'})
    // vLLM emits the role frame and the first token in one iteration; one write here too.
    this.next(this.frames.roleFrame() ?? '')
  }

  /**
   * Writes content token `this.written` (or applies a fault due at this point), then schedules the next one.
   * Tokens already overdue (the event loop lagged) go out in the same write: one syscall instead of several,
   * exactly when the process is overloaded, while the absolute schedule keeps the average ITL right.
   */
  private next(prefix = ''): void {
    if (this.over) return
    const frames = this.frames as StreamFrames
    const itl = this.engine.opts.itlMs
    let out = prefix
    for (;;) {
      const i = this.written
      if (i === this.faultAt && this.hasMidStreamFault()) {
        if (out) this.res.write(out)
        this.midStreamFault()
        return
      }
      const word = outputWord(this.wordOffset, i)
      const stamp = epochMs()
      if (i === 0) this.firstWriteMs = stamp
      this.written++
      if (i === this.outputTokens - 1) {
        const tail = out + this.closingFrames(word, stamp) + DONE_EVENT
        this.finish(this.finishReason)
        this.res.end(tail)
        return
      }
      out += frames.token(word)
      const due = this.firstAt + this.written * itl
      if (due > performance.now() + OVERDUE_MS) {
        this.res.write(out)
        this.timer = this.engine.at(due, () => this.next())
        return
      }
    }
  }

  /** The last content frame plus, by usage style, the usage/finish frame; sim_timing rides in the final JSON frame. */
  private closingFrames(word: string, lastWriteMs: number): string {
    const frames = this.frames as StreamFrames
    const simTiming = {sim_timing: {first_token_write_ms: this.firstWriteMs, last_token_write_ms: lastWriteMs}}
    const style = this.engine.opts.usageStyle
    const u = this.usageNumbers()
    if (style === 'llamacpp') {
      return frames.token(word) + frames.finishFrame(this.finishReason, {usage: usageObject(u, style), timings: timingsObject(u), ...simTiming})
    }
    if (style === 'openai' && this.r.includeUsage) {
      return frames.lastToken(word, this.finishReason) + frames.usageFrame(usageObject(u, style), simTiming)
    }
    return frames.lastToken(word, this.finishReason, simTiming)
  }

  private hasMidStreamFault(): boolean {
    return this.faults.drop || this.faults.garbage || this.faults.errorEvent
  }

  /** Applies the planned drop/garbage/errorEvent; true when the stream is over. */
  private midStreamFault(): boolean {
    const frames = this.frames as StreamFrames
    if (this.faults.drop) {
      this.engine.injected('drop')
      this.finish(undefined)
      cut(this.res)
      return true
    }
    if (this.faults.garbage) {
      this.engine.injected('garbage')
      this.finish(undefined)
      this.res.end(frames.garbageFrame())
      return true
    }
    if (this.faults.errorEvent) {
      this.engine.injected('errorEvent')
      this.finish(undefined)
      this.res.end(errorEventFrame('simulated error event') + DONE_EVENT)
      return true
    }
    return false
  }

  /** Non-streaming: answer once the whole completion would have been generated. */
  private nonStreaming(): void {
    const n = this.outputTokens
    this.timer = this.engine.at(this.firstAt + (n - 1) * this.engine.opts.itlMs, () => {
      if (this.over) return
      if (this.faults.drop) {
        this.engine.injected('drop')
        this.finish(undefined)
        cut(this.res)
        return
      }
      let text = ''
      for (let i = 0; i < n; i++) text += outputWord(this.wordOffset, i)
      this.written = n
      const style = this.engine.opts.usageStyle
      const u = this.usageNumbers()
      const body = JSON.stringify(completionBody({
        api: this.r.api, id: this.id, created: this.created, model: this.engine.opts.model, text, finishReason: this.finishReason,
        usage: style === 'none' ? undefined : usageObject(u, style),
        timings: style === 'llamacpp' ? timingsObject(u) : undefined,
      }))
      if (this.faults.garbage) {
        this.engine.injected('garbage')
        this.finish(undefined)
        this.res.writeHead(200, {'content-type': 'application/json'})
        this.res.end(body.slice(0, Math.floor(body.length / 2)))
        return
      }
      this.finish(this.finishReason)
      this.res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
      this.res.end(body)
    })
  }

  private usageNumbers(): UsageNumbers {
    return {
      promptTokens: this.r.promptTokens.length,
      cachedTokens: this.cachedTokens,
      completionTokens: this.written,
      promptMs: this.prefillMs,
      predictedMs: this.written > 0 ? (this.written - 1) * this.engine.opts.itlMs : 0,
    }
  }
}
