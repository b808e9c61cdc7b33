/**
 * Worker-thread entry of the threaded transport (threaded-transport.ts): one real measured transport per
 * thread, driven by messages from the main thread. Sockets, SSE parsing and timestamps all live here; the
 * main thread only gets finished records back.
 *
 * Protocol (types in threaded-transport.ts): the main thread posts arrays of messages. `send` → one entry in a
 * `records` batch; `abort` aborts the controller standing in for a main-thread AbortSignal (which cannot cross
 * threads); `preconnect` and `close` answer with `done`.
 */
import {parentPort, workerData} from 'node:worker_threads'
import type {RequestRecord} from '../record/record.js'
import {createMeasuredTransport} from './measured-transport.js'
import type {PlannedRequest} from './transport.js'
import type {ToWorker, ToMain, WorkerSetup} from './threaded-transport.js'

if (!parentPort) throw new Error('transport-worker.js is a worker-thread entry; load it through createThreadedTransport')
const port = parentPort
const setup = workerData as WorkerSetup
// The URL was sent as its href: a URL object does not survive the structured clone into workerData.
const transport = createMeasuredTransport({...setup.options, endpoint: new URL(setup.endpointHref)})

/** Event-loop turns `close` waits for in-flight records to settle before it answers. */
const CLOSE_SETTLE_TURNS = 20

/** Stand-ins for the main thread's AbortSignals, by signalId, while sends using them are in flight. */
const signals = new Map<number, {controller: AbortController; users: number}>()
/** Sends in flight (for `close`). */
let inFlight = 0

/**
 * Records finished in the same event-loop iteration go back in one message (flushed at the check phase).
 * The measured transport already hands records back in paced 0.5 ms slices, so this merges a slice's
 * records rather than delaying any: the record's timestamps are final before it is queued here.
 */
let outbox: [number, RequestRecord][] = []
let flushScheduled = false
function flush(): void {
  flushScheduled = false
  const batch = outbox
  outbox = []
  port.postMessage({t: 'records', batch} satisfies ToMain)
}
function reply(id: number, record: RequestRecord): void {
  outbox.push([id, record])
  if (!setup.batchMessages) return flush()
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flush)
  }
}

port.on('message', (batch: ToWorker[]) => {
  for (const msg of batch) handle(msg)
})

function handle(msg: ToWorker): void {
  switch (msg.t) {
    case 'send': {
      const {body, ...rest} = msg.request
      // The main thread sent a private copy of the body; wrap its bytes without copying again.
      const planned: PlannedRequest = {...rest, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength)}
      let signal: AbortSignal | undefined
      let stand: {controller: AbortController; users: number} | undefined
      // An already-aborted signal on the main thread: the transport sees one too, and answers exactly as it would there.
      if (msg.aborted) signal = AbortSignal.abort()
      else if (msg.signalId !== undefined) {
        stand = signals.get(msg.signalId)
        if (!stand) {
          stand = {controller: new AbortController(), users: 0}
          signals.set(msg.signalId, stand)
        }
        stand.users++
        signal = stand.controller.signal
      }
      inFlight++
      void transport.send(planned, {queuedAtMs: msg.queuedAtMs, signal}).then((record) => {
        inFlight--
        if (stand && --stand.users === 0) signals.delete(msg.signalId!)
        reply(msg.id, record)
      })
      return
    }
    case 'abort':
      // Unknown id: every send using that signal has already finished; nothing to do.
      signals.get(msg.signalId)?.controller.abort()
      return
    case 'preconnect':
      void transport.preconnect(msg.n, msg.urlHref === undefined ? undefined : new URL(msg.urlHref)).then((count) =>
        port.postMessage({t: 'done', id: msg.id, value: count} satisfies ToMain),
      )
      return
    case 'close':
      void transport.close().then(async () => {
        // Closing destroys the sockets; the records of requests still in flight settle a few loop turns later.
        // Anything still open after that is settled by the main thread when the thread is gone.
        for (let turn = 0; turn < CLOSE_SETTLE_TURNS && inFlight > 0; turn++) await new Promise((resolve) => setImmediate(resolve))
        if (outbox.length > 0) flush()
        port.postMessage({t: 'done', id: msg.id, value: 0} satisfies ToMain)
      })
      return
  }
}
