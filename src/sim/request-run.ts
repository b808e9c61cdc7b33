import type {ServerResponse} from 'node:http'
import {performance} from 'node:perf_hooks'
import {outputWord, type UsageNumbers} from './chunks.js'
import type {SimEngine} from './engine.js'
import type {FaultPlan} from './faults.js'
import type {ResolvedSimOptions} from './options.js'
import {blockHashes} from './prefix-cache.js'
import type {PrefillTicket} from './prefill-queue.js'
import type {SimError} from './protocol.js'
import type {Timer} from './scheduler.js'

/** Tokens emitted before a mid-stream fault fires ("a few"); fewer when the completion is shorter. */
const FAULT_AFTER_TOKENS = 3
/** A token due within this much of now counts as due (matches the scheduler's early-run window). */
const OVERDUE_MS = 0.5

/** Epoch ms with sub-ms precision, as the sim_timing stamps promise. */
const epochMs = () => performance.timeOrigin + performance.now()

/** What the shared lifecycle needs of a parsed request, whatever the endpoint. */
export interface RunRequest {
  /** Model named in the body, if any. */
  model?: string
  promptTokens: string[]
  /** The output limit the client set (max_tokens, max_output_tokens…); undefined = the server default. */
  maxTokens?: number
  stream: boolean
}

/** How an answered request ended: vLLM's finish reason and the token accounting. */
export interface RunEnd {
  /** With a limit set the simulated model always runs to it ("length"); otherwise it "stops" at its default. */
  finishReason: 'stop' | 'length'
  usage: UsageNumbers
}

/** Server-side write stamps (epoch ms) the simulator adds to the final frame, so tests can compare client and server. */
export interface SimTiming {
  first_token_write_ms: number
  last_token_write_ms: number
}

/**
 * Writes one response in an endpoint's wire format. The lifecycle (RequestRun) decides what is due and when,
 * and does every write; a writer only turns tokens and endings into frames.
 */
export interface RunWriter {
  /** Streaming frames due as soon as the request is accepted, before prefill; undefined when the format has none. */
  opening(): string | undefined
  /** Streaming frames that go out with the first token, in the same write. */
  beforeFirst(): string
  /** A content frame that is not the last; `word` is JSON-safe (see OUTPUT_WORDS). */
  token(word: string): string
  /** The last content frame and everything after it, to the end of the stream. */
  last(word: string, end: RunEnd, timing: SimTiming): string
  /** The garbage fault: a frame that is not valid JSON; the stream ends after it. */
  garbage(): string
  /** The errorEvent fault: an error event and whatever the format sends after one before the stream ends. */
  errorEvent(message: string): string
  /** The whole non-streaming JSON body. */
  body(text: string, end: RunEnd): string
}

/**
 * One endpoint's protocol: how its requests are read and its answers written. The lifecycle around it
 * (stats, faults, prefill, token clock, metrics) is the engine's and the same for every endpoint.
 */
export interface SimDialect<R extends RunRequest = RunRequest> {
  /** The error `type` of a too-large body (413) and of an unknown model (404), as the real server names them. */
  readonly errorTypes: {tooLarge: string; unknownModel: string}
  /** Validates and tokenizes a body. Pure. */
  parse(raw: string): {ok: true; request: R} | {ok: false; error: SimError}
  /** A refusal after the model check and before any fault applies (e.g. a server that rejects stream_options). */
  refuse?(r: R, opts: ResolvedSimOptions): SimError | undefined
  /** The writer of one accepted request; called once, when the request is accepted (ids are drawn then). */
  writer(r: R, opts: ResolvedSimOptions): RunWriter
}

/** Writes the status line and headers of a 200 event stream. */
function writeSseHead(res: ServerResponse): void {
  res.writeHead(200, {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive'})
}

/**
 * Drops the connection mid-response. destroySoon() flushes what was already written and then closes, so the
 * client gets exactly the tokens sent before the cut even when the write and the cut land in one tick.
 */
function cut(res: ServerResponse): void {
  if (res.socket) res.socket.destroySoon()
  else res.destroy()
}

/** One accepted request on any endpoint: prefill → first token → steady tokens → end, or cut short by a fault or the client. */
export class RequestRun {
  private readonly outputTokens: number
  private readonly finishReason: 'stop' | 'length'
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

  constructor(
    private readonly engine: SimEngine,
    private readonly r: RunRequest,
    private readonly writer: RunWriter,
    private readonly faults: FaultPlan,
    private readonly res: ServerResponse,
    private readonly arrival: number,
  ) {
    this.outputTokens = r.maxTokens ?? engine.opts.defaultOutputTokens
    this.finishReason = r.maxTokens === undefined ? 'stop' : 'length'
    this.wordOffset = r.promptTokens.length
    this.faultAt = Math.min(FAULT_AFTER_TOKENS, Math.floor(this.outputTokens / 2))
  }

  start(): void {
    const opening = this.r.stream ? this.writer.opening() : undefined
    if (opening !== undefined) {
      writeSseHead(this.res)
      this.res.write(opening)
    }
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
    if (!this.res.headersSent) writeSseHead(this.res)
    // vLLM emits the role frame and the first token in one iteration; one write here too.
    this.next(this.writer.beforeFirst())
  }

  /**
   * Writes content token `this.written` (or applies a fault due at this point), then schedules the next one.
   * Tokens already overdue (the event loop lagged) go out in the same write: one syscall instead of several,
   * exactly when the process is overloaded, while the absolute schedule keeps the average ITL right.
   */
  private next(prefix = ''): void {
    if (this.over) return
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
        const tail = out + this.writer.last(word, this.end(), {first_token_write_ms: this.firstWriteMs, last_token_write_ms: stamp})
        this.finish(this.finishReason)
        this.res.end(tail)
        return
      }
      out += this.writer.token(word)
      const due = this.firstAt + this.written * itl
      if (due > performance.now() + OVERDUE_MS) {
        this.res.write(out)
        this.timer = this.engine.at(due, () => this.next())
        return
      }
    }
  }

  private hasMidStreamFault(): boolean {
    return this.faults.drop || this.faults.garbage || this.faults.errorEvent
  }

  /** Applies the planned drop/garbage/errorEvent, which ends the stream. Precedence as drawFaults promises. */
  private midStreamFault(): void {
    if (this.faults.drop) {
      this.engine.injected('drop')
      this.finish(undefined)
      cut(this.res)
    } else if (this.faults.garbage) {
      this.engine.injected('garbage')
      this.finish(undefined)
      this.res.end(this.writer.garbage())
    } else if (this.faults.errorEvent) {
      this.engine.injected('errorEvent')
      this.finish(undefined)
      this.res.end(this.writer.errorEvent('simulated error event'))
    }
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
      const body = this.writer.body(text, this.end())
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

  private end(): RunEnd {
    return {
      finishReason: this.finishReason,
      usage: {
        promptTokens: this.r.promptTokens.length,
        cachedTokens: this.cachedTokens,
        completionTokens: this.written,
        promptMs: this.prefillMs,
        predictedMs: this.written > 0 ? (this.written - 1) * this.engine.opts.itlMs : 0,
      },
    }
  }
}
