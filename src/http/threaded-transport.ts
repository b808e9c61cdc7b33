/**
 * A Transport that spreads requests over N worker threads, each running the real measured transport
 * (transport-worker.ts), for when one core cannot keep up with the sockets (`--workers N`, issue #6).
 * Only the HTTP exchanges move: socket reads, SSE parsing and the timestamps are taken in the worker, and
 * the finished record comes back as a plain object. Timestamps are `timeOrigin + now()` (record/clock.ts),
 * comparable across threads, so a worker's record is used as is. Runner, scrapes, requests.jsonl and
 * summaries stay on the main thread.
 */
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {DualBenchError, inputError} from '../errors.js'
import {nowMs} from '../record/clock.js'
import type {RequestRecord} from '../record/record.js'
import type {PlannedRequest, Transport, TransportOptions} from './transport.js'

/** Options of {@link createThreadedTransport}: the plain transport's, plus the thread count. */
export interface ThreadedTransportOptions extends TransportOptions {
  /** Worker threads (≥ 1). More threads than `maxSockets` would sit idle, so the count is capped there. */
  workers: number
  /**
   * Default true: messages go out batched (sends per main-thread tick, records per worker loop turn). False:
   * one message per request each way. A knob for bench/threaded-transport.mjs, which measures both.
   */
  batchMessages?: boolean
  /**
   * Called once when a thread dies while the transport is open, with one line saying so. Its sockets die with it, so
   * the level goes on with fewer connections than its concurrency: the run must say so, not only the failed records.
   */
  onThreadLost?: (message: string) => void
}

/** The threaded transport: the measured transport's surface, so callers need not know which one they hold. */
export interface ThreadedTransport extends Transport {
  /**
   * Opens up to `n` keep-alive sockets before a level's clock starts, split across the threads the way
   * sends will be (the lowest-index threads get the remainder). `url` defaults to the server's models URL.
   * Resolves to the number of warm-up requests that got a response, summed over threads.
   */
  preconnect(n: number, url?: URL): Promise<number>
  /** The endpoint every measured request is POSTed to. */
  readonly endpoint: URL
  /** The worker threads in dispatch order (diagnostics and tests; terminating one is treated as a crash). */
  readonly threads: readonly Worker[]
}

// ——— Messages between the threads (batched by default: see `post` and the worker's `reply`) ———

/** workerData of a transport worker. The endpoint travels as its href: a URL object does not survive structured clone. */
export interface WorkerSetup {
  options: Omit<TransportOptions, 'endpoint'>
  endpointHref: string
  batchMessages: boolean
}

/** A PlannedRequest as it crosses into a worker: the body is a private copy of the bytes. */
export type WireRequest = Omit<PlannedRequest, 'body'> & {body: Uint8Array}

/** The main thread posts arrays of these (see `post`). */
export type ToWorker =
  /** `signalId` names the caller's AbortSignal (see `linkSignal`); `aborted`: it was aborted before the send. */
  | {t: 'send'; id: number; request: WireRequest; queuedAtMs: number; signalId?: number; aborted?: true}
  /** That AbortSignal fired: abort the worker's controller standing in for it. */
  | {t: 'abort'; signalId: number}
  | {t: 'preconnect'; id: number; n: number; urlHref?: string}
  | {t: 'close'; id: number}

export type ToMain = {t: 'records'; batch: [id: number, record: RequestRecord][]} | {t: 'done'; id: number; value: number}

/** How long `close` waits for a thread to close its sockets before terminating it anyway. */
const CLOSE_GRACE_MS = 5000

/**
 * Where the worker entry is. The worker runs as plain Node ESM, so it needs a `.js` file:
 *  - from dist/ (the CLI, benches) the compiled sibling `./transport-worker.js` sits next to this module;
 *  - under jest (ts-jest) this module runs from src/http/*.ts, where no .js exists, so the built
 *    dist/http/transport-worker.js is used (`npm test` builds dist first). That worker then runs the
 *    built transport, which is the same source.
 * A loader that compiles TypeScript inside the worker would avoid the build step in tests, but would add
 * a dependency and a second way of running the measured code; the build already exists.
 */
export function workerEntryUrl(): URL {
  const sibling = new URL('./transport-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(sibling))) return sibling
  const built = new URL('../../dist/http/transport-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(built))) return built
  throw new DualBenchError('WORKER_MISSING', `the transport worker script is missing (looked for ${fileURLToPath(sibling)} and ${fileURLToPath(built)})`, {
    suggestions: ['run `npm run build`, or run without --workers'],
    exit: 1,
  })
}

/** One send waiting for its record. */
interface PendingSend {
  request: PlannedRequest
  queuedAtMs: number
  /** When it was handed to a thread: the send stamp of a record the thread never returned. */
  postedAtMs: number
  resolve: (record: RequestRecord) => void
  link?: SignalLink
}

/** A caller's AbortSignal as one thread knows it: one listener however many sends share it. */
interface SignalLink {
  readonly signal: AbortSignal
  readonly id: number
  /** Sends in flight on this thread with this signal; at 0 the listener goes. */
  users: number
  readonly onAbort: () => void
}

/** One worker thread and what it owes the main thread. */
interface Lane {
  readonly index: number
  readonly worker: Worker
  readonly sends: Map<number, PendingSend>
  /** preconnect/close replies, with the value to resolve to if the thread dies first. */
  readonly controls: Map<number, {resolve: (value: number) => void; fallback: number}>
  /** The callers' AbortSignals this thread's in-flight sends use. */
  readonly signals: Map<AbortSignal, SignalLink>
  /** Messages not yet posted (see `post`), with the body buffers they transfer. */
  outbox: ToWorker[]
  transfer: ArrayBuffer[]
  alive: boolean
  /** Message of the uncaught error that killed the thread, if one did. */
  crash?: string
}

/**
 * Creates the threaded transport: `workers` threads (capped at `maxSockets`), each with its own measured
 * transport of `ceil(maxSockets / threads)` keep-alive sockets. Each send goes to the thread with the
 * fewest requests in flight (ties: lowest index), which spreads load evenly and keeps every thread's
 * sockets reused. A thread that dies fails its in-flight records (category `other`) and gets no more sends.
 * The API key travels only in the threads' workerData, never in a message or an error.
 */
export function createThreadedTransport(opts: ThreadedTransportOptions): ThreadedTransport {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw inputError(`--workers must be an integer >= 1, got ${opts.workers}`)
  const count = Math.max(1, Math.min(opts.workers, opts.maxSockets))
  const entry = workerEntryUrl()
  const {endpoint, workers: _workers, batchMessages = true, onThreadLost, ...rest} = opts
  const setup: WorkerSetup = {options: {...rest, maxSockets: Math.ceil(opts.maxSockets / count)}, endpointHref: endpoint.href, batchMessages}
  // A crash message comes from code that held the key and the extra headers: mask both, in case one leaked into it.
  const secrets = [opts.apiKey, ...Object.values(opts.headers ?? {})].filter((v): v is string => typeof v === 'string' && v.length >= 4)
  const redact = (message: string) => secrets.reduce((out, secret) => out.split(secret).join('***'), message)

  let nextId = 1
  let closing: Promise<void> | undefined
  const lanes: Lane[] = []

  /** A thread keeps the process alive only while it owes a reply: a forgotten close() cannot hang the exit. */
  const owed = (lane: Lane) => lane.sends.size + lane.controls.size
  const took = (lane: Lane) => {
    if (owed(lane) === 1) lane.worker.ref()
  }
  const paid = (lane: Lane) => {
    if (owed(lane) === 0) lane.worker.unref()
  }

  function settle(lane: Lane, id: number, record: RequestRecord): void {
    const pending = lane.sends.get(id)
    if (!pending) return
    lane.sends.delete(id)
    if (pending.link && --pending.link.users === 0) {
      pending.link.signal.removeEventListener('abort', pending.link.onAbort)
      lane.signals.delete(pending.link.signal)
    }
    paid(lane)
    pending.resolve(record)
  }

  /** The thread is gone: everything it owed resolves now, so no caller waits on a dead thread. */
  function bury(lane: Lane, code: number): void {
    if (!lane.alive && owed(lane) === 0) return
    const died = lane.alive
    lane.alive = false
    const why = lane.crash
      ? `transport worker ${lane.index + 1} of ${count} crashed: ${lane.crash}`
      : closing
        ? 'the transport was closed before the request completed'
        : `transport worker ${lane.index + 1} of ${count} exited unexpectedly (code ${code})`
    if (died && !closing && onThreadLost) {
      const live = lanes.filter((l) => l.alive).length
      const left = live === 0 ? 'no thread is left: the rest of the level fails' : `the rest of the level runs on ${live} thread(s) with at most ${live * setup.options.maxSockets} connections instead of ${opts.maxSockets}`
      onThreadLost(`${why}; ${left}.`)
    }
    const endedAtMs = nowMs()
    for (const [id, pending] of lane.sends) settle(lane, id, failedRecord(pending.request, pending.queuedAtMs, pending.postedAtMs, endedAtMs, why))
    for (const [id, control] of lane.controls) {
      lane.controls.delete(id)
      control.resolve(control.fallback)
    }
  }

  for (let index = 0; index < count; index++) {
    const worker = new Worker(entry, {workerData: setup, execArgv: workerExecArgv(process.execArgv)})
    const lane: Lane = {index, worker, sends: new Map(), controls: new Map(), signals: new Map(), alive: true, outbox: [], transfer: []}
    worker.on('message', (msg: ToMain) => {
      if (msg.t === 'records') {
        for (const [id, record] of msg.batch) settle(lane, id, record)
        return
      }
      const control = lane.controls.get(msg.id)
      if (!control) return
      lane.controls.delete(msg.id)
      paid(lane)
      control.resolve(msg.value)
    })
    worker.on('error', (error: Error) => {
      lane.crash = redact(error.message)
    })
    // A reply that cannot be deserialized is lost, and with it the records it carried: their sends would never settle.
    // So the thread is treated as crashed, which fails everything it still owes, saying why.
    worker.on('messageerror', (error: Error) => {
      lane.crash ??= redact(`a message from the thread could not be read (${error.message})`)
      void worker.terminate()
    })
    worker.on('exit', (code) => bury(lane, code))
    worker.unref() // idle until its first send (see `took`)
    lanes.push(lane)
  }

  /** The live thread with the fewest sends in flight; ties go to the lowest index. */
  function pick(): Lane | undefined {
    let best: Lane | undefined
    for (const lane of lanes) if (lane.alive && (!best || lane.sends.size < best.sends.size)) best = lane
    return best
  }

  /**
   * An AbortSignal cannot cross threads, so each thread gets a stand-in: an id, and in the worker an
   * AbortController aborted when the signal fires. The runner passes one cancel signal with every send, so
   * this is one listener and one controller per thread rather than one per request.
   */
  function linkSignal(lane: Lane, signal: AbortSignal): SignalLink {
    let link = lane.signals.get(signal)
    if (!link) {
      const id = nextId++
      link = {signal, id, users: 0, onAbort: () => post(lane, {t: 'abort', signalId: id})}
      signal.addEventListener('abort', link.onAbort, {once: true})
      lane.signals.set(signal, link)
    }
    link.users++
    return link
  }

  /**
   * Queues a message for the thread; the queue goes out as one postMessage once the current tick and its
   * microtasks are over. At a wave boundary one batch of records resolves many sends whose continuations
   * each send the next request: they share one message (one wake-up of the thread) instead of one each.
   * The delay is at most the rest of this tick and lands in client queue time (the worker stamps sentAtMs).
   */
  function post(lane: Lane, msg: ToWorker, transfer?: ArrayBuffer): void {
    if (lane.outbox.length === 0 && batchMessages) process.nextTick(flush, lane)
    lane.outbox.push(msg)
    if (transfer) lane.transfer.push(transfer)
    if (!batchMessages) flush(lane)
  }
  function flush(lane: Lane): void {
    const {outbox, transfer} = lane
    lane.outbox = []
    lane.transfer = []
    if (lane.alive) lane.worker.postMessage(outbox, transfer)
  }

  function control(lane: Lane, msg: {t: 'preconnect'; n: number; urlHref?: string} | {t: 'close'}, fallback: number): Promise<number> {
    const id = nextId++
    return new Promise<number>((resolve) => {
      lane.controls.set(id, {resolve, fallback})
      took(lane)
      post(lane, {...msg, id})
    })
  }

  async function closeLane(lane: Lane): Promise<void> {
    if (lane.alive) {
      let timer: NodeJS.Timeout | undefined
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS).unref()))
      await Promise.race([control(lane, {t: 'close'}, 0), grace])
      clearTimeout(timer)
    }
    await lane.worker.terminate()
    bury(lane, 0) // the 'exit' listener normally did this already
  }

  return {
    endpoint,
    threads: lanes.map((lane) => lane.worker),

    send(request, {queuedAtMs, signal}) {
      const postedAtMs = nowMs()
      const lane = closing ? undefined : pick()
      if (!lane) {
        const why = closing ? 'the transport was closed before the request was sent' : `every transport worker has stopped (${deadReasons(lanes)})`
        return Promise.resolve(failedRecord(request, queuedAtMs, postedAtMs, postedAtMs, why))
      }
      const id = nextId++
      return new Promise<RequestRecord>((resolve) => {
        const pending: PendingSend = {request, queuedAtMs, postedAtMs, resolve}
        lane.sends.set(id, pending)
        took(lane)
        const {body, ...meta} = request
        // A private copy, transferred: the runner sends the same Buffer again in round 2, so it must stay
        // usable here. (A Buffer is often a view into a shared pool; cloning the view would copy the pool.)
        const copy = new Uint8Array(body)
        const msg: ToWorker = {t: 'send', id, request: {...meta, body: copy}, queuedAtMs}
        if (signal?.aborted) msg.aborted = true
        else if (signal) msg.signalId = (pending.link = linkSignal(lane, signal)).id
        post(lane, msg, copy.buffer)
      })
    },

    async preconnect(n, url) {
      const live = lanes.filter((lane) => lane.alive)
      if (live.length === 0 || closing) return 0
      const total = Math.max(0, Math.floor(n))
      const shares = live.map((_, i) => Math.floor(total / live.length) + (i < total % live.length ? 1 : 0))
      const counts = await Promise.all(live.map((lane, i) => (shares[i] > 0 ? control(lane, {t: 'preconnect', n: shares[i], urlHref: url?.href}, 0) : 0)))
      return counts.reduce((a, b) => a + b, 0)
    },

    close() {
      closing ??= Promise.all(lanes.map(closeLane)).then(() => undefined)
      return closing
    },
  }
}

/** Options that name the main thread's entry (`node --input-type=module -e …`): a worker refuses to start with them. */
const ENTRY_FLAGS = new Set(['--input-type', '-e', '--eval', '-p', '--print'])
/** Options that change how modules load, which a worker needs as its main thread has them; those marked take a value. */
const LOADING_FLAGS = new Map([
  ['--import', true],
  ['--require', true],
  ['-r', true],
  ['--loader', true],
  ['--experimental-loader', true],
  ['--conditions', true],
  ['-C', true],
  ['--enable-source-maps', false],
  ['--no-warnings', false],
])

/**
 * A worker's options: undefined, i.e. the main thread's, as Node itself passes them on, unless they name the main
 * entry (`node --input-type=module -e …`), which a worker refuses. Then only those that change how modules load
 * (LOADING_FLAGS, and --experimental-*). Not the rest: Node refuses process-wide options in a worker's execArgv
 * (--v8-pool-size, V8's own such as --max-old-space-size), and the measuring child is started with such options
 * (perf/relaunch.ts), so passing them all failed every --workers run there. Pure.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  const named = (arg: string) => arg.split('=', 1)[0]
  if (!execArgv.some((arg) => ENTRY_FLAGS.has(named(arg)))) return undefined
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]
    const flag = named(arg)
    const takesValue = !arg.includes('=') && (LOADING_FLAGS.get(flag) === true || ENTRY_FLAGS.has(flag))
    if (LOADING_FLAGS.has(flag) || flag.startsWith('--experimental-')) out.push(...execArgv.slice(i, takesValue ? i + 2 : i + 1))
    if (takesValue) i++ // its value was taken with it, or dropped with it
  }
  return out
}

function deadReasons(lanes: Lane[]): string {
  const crashes = lanes.filter((lane) => lane.crash).map((lane) => `worker ${lane.index + 1}: ${lane.crash}`)
  return crashes.length > 0 ? crashes.join('; ') : 'threads exited'
}

/** The record of a send the threads never answered: the same identity fields a transport fills, failed as `other`. */
function failedRecord(request: PlannedRequest, queuedAtMs: number, sentAtMs: number, endedAtMs: number, message: string): RequestRecord {
  const record: RequestRecord = {
    level: request.level,
    round: request.round,
    index: request.index,
    sampleId: request.sampleId,
    promptPreview: request.promptPreview,
    queuedAtMs,
    sentAtMs,
    endedAtMs,
    ok: false,
    error: {category: 'other', message},
  }
  if (request.inputLength) record.inputLength = request.inputLength
  return record
}
