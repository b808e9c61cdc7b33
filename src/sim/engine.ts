import type {IncomingMessage, ServerResponse} from 'node:http'
import {performance} from 'node:perf_hooks'
import {chatDialect} from './chat-dialect.js'
import {drawFaults} from './faults.js'
import {SimMetrics} from './metrics.js'
import type {ResolvedSimOptions} from './options.js'
import {cacheableHashes, PrefixCache} from './prefix-cache.js'
import {PrefillQueue, type PrefillTicket} from './prefill-queue.js'
import {errorBody, type SimApi, type SimError} from './protocol.js'
import {RequestRun, type SimDialect} from './request-run.js'
import {responsesDialect} from './responses.js'
import {createRng} from '../prng.js'
import {Scheduler, type Timer} from './scheduler.js'

/** Which generation endpoint a request came to: chat/completions, completions, or the Responses API. */
export type SimEndpoint = SimApi | 'responses'

/** Counters the simulator keeps about itself, served at GET /sim/stats so tests can compare client and server. */
export interface SimStats {
  /** Requests that arrived at /v1/chat/completions, /v1/completions or /v1/responses (valid or not). */
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

function emptyStats(): SimStats {
  return {requests: 0, completions: 0, inFlight: 0, maxInFlight: 0, metricsScrapes: 0, injected: {fail: 0, drop: 0, garbage: 0, slow: 0, errorEvent: 0}, cacheResets: 0}
}

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
  private readonly dialects: Record<SimEndpoint, SimDialect>
  private stats_ = emptyStats()
  private decoding = 0
  private lastHitRate = 0

  constructor(readonly opts: ResolvedSimOptions) {
    this.cache = new PrefixCache(opts.cacheBlocks)
    this.prefill = new PrefillQueue(this.scheduler, opts.serialPrefill)
    this.rand = createRng(opts.seed)
    let seq = 0
    let responseSeq = 0
    const nextSeq = () => ++seq
    this.dialects = {chat: chatDialect('chat', nextSeq), completions: chatDialect('completions', nextSeq), responses: responsesDialect(() => ++responseSeq)}
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

  /**
   * Serves POST /v1/chat/completions, /v1/completions or /v1/responses from arrival to the end of the
   * response: every endpoint is counted in the stats and gets the same faults; only the wire format differs.
   */
  handle(endpoint: SimEndpoint, req: IncomingMessage, res: ServerResponse): void {
    const dialect = this.dialects[endpoint]
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
        sendError(res, {status: 413, message: `Request body larger than ${MAX_BODY_BYTES} bytes`, type: dialect.errorTypes.tooLarge}, true)
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('error', () => end())
    req.on('end', () => {
      if (ended || res.headersSent) return
      const parsed = dialect.parse(Buffer.concat(chunks).toString('utf8'))
      if (!parsed.ok) return sendError(res, parsed.error)
      const r = parsed.request
      if (r.model !== undefined && r.model !== this.opts.model) {
        return sendError(res, {status: 404, message: `The model \`${r.model}\` does not exist.`, type: dialect.errorTypes.unknownModel, param: 'model'})
      }
      const refusal = dialect.refuse?.(r, this.opts)
      if (refusal) return sendError(res, refusal)
      if (faults.fail) {
        this.injected('fail')
        return sendError(res, {status: 500, message: 'simulated failure', type: 'server_error'})
      }
      run = new RequestRun(this, r, dialect.writer(r, this.opts), faults, res, arrival)
      run.start()
    })
  }

  // ---- hooks used by RequestRun (request-run.ts; kept here because they touch shared state) ----

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
