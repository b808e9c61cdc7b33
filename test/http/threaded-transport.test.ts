import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {getEventListeners, once} from 'node:events'
import type {Worker} from 'node:worker_threads'
import {createMeasuredTransport} from '../../src/http/measured-transport.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import {createThreadedTransport, workerEntryUrl, workerExecArgv, type ThreadedTransport} from '../../src/http/threaded-transport.js'
import type {PlannedRequest, Transport} from '../../src/http/transport.js'
import {nowMs} from '../../src/record/clock.js'
import {itlMs, ttftMs} from '../../src/record/derive.js'
import type {RequestRecord} from '../../src/record/record.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {jsonResponse, openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'

/**
 * Issue #6 `--workers N`: the threaded transport runs the real measured transport in worker threads
 * (the built dist/http/transport-worker.js: `npm test` builds first) and must hand back the same records.
 */

const MODEL = 'dual-bench-sim'
const prompts = Array.from({length: 40}, (_, i) => `request ${i}: tell me about the number ${i * 7} in a few words`)
const bodies = prompts.map((content) => buildRequestBody({id: 'x', messages: [{role: 'user', content}]}, {api: 'chat', model: MODEL, stream: true, includeUsage: true}))
const planned = (index: number, round = 1, level = 8): PlannedRequest => ({
  level,
  round,
  index,
  sampleId: `s${index}`,
  promptPreview: prompts[index % prompts.length].slice(0, 20),
  body: bodies[index % bodies.length],
  inputLength: {original: 60, truncated: 60, unit: 'chars'},
})

/** Sends every request through `concurrency` slots, like the runner does. Records come back in index order. */
async function runClosedLoop(transport: Transport, requests: PlannedRequest[], concurrency: number): Promise<RequestRecord[]> {
  const out: RequestRecord[] = new Array(requests.length)
  let next = 0
  const slot = async () => {
    while (next < requests.length) {
      const i = next++
      out[i] = await transport.send(requests[i], {queuedAtMs: nowMs()})
    }
  }
  await Promise.all(Array.from({length: concurrency}, slot))
  return out
}

// Not events.once: it rejects on the 'error' event a crashing thread emits before 'exit'.
const exited = (worker: Worker) => new Promise<void>((resolve) => (worker.threadId === -1 ? resolve() : worker.once('exit', () => resolve())))

let sims: Simulator[] = []
let server: ScriptedServer | undefined
let transports: Transport[] = []
afterEach(async () => {
  await Promise.all(transports.map((t) => t.close()))
  await Promise.all(sims.map((s) => s.close()))
  await server?.close()
  sims = []
  transports = []
  server = undefined
})

function threaded(opts: Partial<Parameters<typeof createThreadedTransport>[0]> & {endpoint: URL}): ThreadedTransport {
  const t = createThreadedTransport({timeoutMs: 10_000, maxSockets: 8, api: 'chat', stream: true, workers: 2, ...opts})
  transports.push(t)
  return t
}

test('the worker entry resolves to a built .js file (dist under jest)', () => {
  expect(workerEntryUrl().pathname).toMatch(/\/http\/transport-worker\.js$/)
})

test('40 streams at concurrency 8 over 2 threads: every record ok, sane timings, same keys as the single-thread transport', async () => {
  const [simA, simB] = await Promise.all([startSimulator({itlMs: 2, defaultOutputTokens: 12}), startSimulator({itlMs: 2, defaultOutputTokens: 12})])
  sims.push(simA, simB)
  const single = createMeasuredTransport({endpoint: new URL('/v1/chat/completions', simA.url), timeoutMs: 10_000, maxSockets: 8, api: 'chat', stream: true})
  transports.push(single)
  const multi = threaded({endpoint: new URL('/v1/chat/completions', simB.url)})
  expect(multi.threads).toHaveLength(2)
  // Warm both pools so every record has the same connection fields (reusedConnection, no connectMs).
  expect(await single.preconnect(8)).toBe(8)
  expect(await multi.preconnect(8)).toBe(8)

  const requests = prompts.map((_, i) => planned(i))
  const base = await runClosedLoop(single, requests, 8)
  const recs = await runClosedLoop(multi, requests, 8)

  // Each thread has ceil(8 / 2) = 4 sockets: 8 requests at once on the server means both threads carried load.
  expect(simB.stats().maxInFlight).toBe(8)
  expect(simB.stats().completions).toBe(40)
  for (const [i, r] of recs.entries()) {
    expect(r).toMatchObject({ok: true, level: 8, round: 1, index: i, sampleId: `s${i}`, outputTokens: 12, outputTokensSource: 'usage', finishReason: 'stop', reusedConnection: true})
    expect(r.inputLength).toEqual({original: 60, truncated: 60, unit: 'chars'})
    // Stamps from another thread are on the same clock as queuedAtMs, taken here.
    expect(r.sentAtMs).toBeGreaterThanOrEqual(r.queuedAtMs)
    expect(r.headersAtMs!).toBeGreaterThanOrEqual(r.sentAtMs)
    expect(r.firstTokenAtMs!).toBeGreaterThanOrEqual(r.headersAtMs!)
    expect(r.lastTokenAtMs!).toBeGreaterThanOrEqual(r.firstTokenAtMs!)
    expect(r.endedAtMs).toBeGreaterThanOrEqual(r.lastTokenAtMs!)
    expect(r.endedAtMs - r.queuedAtMs).toBeLessThan(10_000)
    expect(ttftMs(r)!).toBeGreaterThan(0)
    expect(itlMs(r)!).toBeGreaterThan(0)
    expect(r.chunkOffsetsMs).toHaveLength(r.contentChunks!)
    expect(Object.keys(r).sort()).toEqual(Object.keys(base[i]).sort())
  }
})

test('an abort mid-stream ends the record cancelled, like the single-thread transport; only the sends holding that signal', async () => {
  server = await startScriptedServer((req) => (req.method === 'GET' ? jsonResponse(200, {data: []}) : {body: openAiStream({tokens: 100, itlMs: 50})}))
  const t = threaded({endpoint: server.endpoint()})
  // One signal shared by sends on both threads, as the runner's cancel signal is.
  const cancel = new AbortController()
  const pending = [0, 1, 2].map((i) => t.send(planned(i), {queuedAtMs: nowMs(), signal: cancel.signal}))
  let otherSettled = false
  const other = t.send(planned(3), {queuedAtMs: nowMs(), signal: new AbortController().signal}).then((r) => {
    otherSettled = true
    return r
  })
  // Every stream has had a content chunk written 50 ms before the next: the client has seen it.
  while (server.requests.length < 4 || !server.requests.every((q) => q.writes.length > 2)) await new Promise((resolve) => setTimeout(resolve, 10))
  cancel.abort()
  const records = await Promise.all(pending)

  for (const record of records) {
    expect(record).toMatchObject({ok: false, error: {category: 'cancelled', message: 'request cancelled'}})
    expect(record.firstTokenAtMs).toBeDefined()
    expect(record.endedAtMs).toBeGreaterThanOrEqual(record.firstTokenAtMs!)
  }
  expect(records.map((r) => r.index)).toEqual([0, 1, 2])
  // The send with its own signal is untouched and keeps streaming.
  expect(otherSettled).toBe(false)
  // No abort listener outlives the sends that needed it.
  expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0)
  await t.close()
  expect(await other).toMatchObject({ok: false})
})

test('a shared signal holds one listener while its sends are in flight and none after', async () => {
  server = await startScriptedServer({body: openAiStream({tokens: 3, itlMs: 5})})
  const t = threaded({endpoint: server.endpoint()})
  const cancel = new AbortController()
  const pending = Array.from({length: 6}, (_, i) => t.send(planned(i), {queuedAtMs: nowMs(), signal: cancel.signal}))
  // One per thread, not one per send.
  expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(2)
  for (const r of await Promise.all(pending)) expect(r.ok).toBe(true)
  expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0)
  // The same signal again after its stand-ins were released: still works, still not aborted.
  expect(await t.send(planned(7), {queuedAtMs: nowMs(), signal: cancel.signal})).toMatchObject({ok: true})
})

test('an already-aborted signal gives the same cancelled-before-sent record as the plain transport, and nothing reaches the server', async () => {
  server = await startScriptedServer({body: openAiStream({tokens: 2})})
  const plain = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 2, api: 'chat', stream: true})
  transports.push(plain)
  const t = threaded({endpoint: server.endpoint(), maxSockets: 2})
  const signal = AbortSignal.abort()
  const expected = await plain.send(planned(3), {queuedAtMs: nowMs(), signal})
  const record = await t.send(planned(3), {queuedAtMs: nowMs(), signal})

  expect(record).toMatchObject({ok: false, error: {category: 'cancelled'}, index: 3})
  expect(record.error).toEqual(expected.error)
  expect(Object.keys(record).sort()).toEqual(Object.keys(expected).sort())
  expect(server.requests).toHaveLength(0)
})

test('preconnect splits the sockets over the threads; every request then reuses one', async () => {
  server = await startScriptedServer((req) => (req.method === 'GET' ? jsonResponse(200, {data: []}) : {body: openAiStream({tokens: 3, itlMs: 20})}))
  const t = threaded({endpoint: server.endpoint(), maxSockets: 6, workers: 3})
  expect(await t.preconnect(6)).toBe(6)
  expect(server.connections).toBe(6)
  const records = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => t.send(planned(i), {queuedAtMs: nowMs()})))

  for (const r of records) {
    expect(r).toMatchObject({ok: true, reusedConnection: true})
    expect(r.connectMs).toBeUndefined()
  }
  expect(server.connections).toBe(6)
  expect(server.maxInFlight).toBe(6)
})

test('the body Buffer stays usable: round 2 sends the same bytes as round 1', async () => {
  server = await startScriptedServer({body: openAiStream({tokens: 2})})
  const t = threaded({endpoint: server.endpoint()})
  const request = planned(5)
  const before = Buffer.from(request.body)
  expect(await t.send(request, {queuedAtMs: nowMs()})).toMatchObject({ok: true})
  expect(await t.send({...request, round: 2}, {queuedAtMs: nowMs()})).toMatchObject({ok: true, round: 2})

  expect(request.body.equals(before)).toBe(true)
  expect(server.requests.map((q) => q.body.equals(before))).toEqual([true, true])
})

test('the API key reaches the server from the threads but never a failure message', async () => {
  const apiKey = 'sk-threaded-SECRET-1234'
  server = await startScriptedServer({body: [{wait: 5000}]})
  const t = threaded({endpoint: server.endpoint(), apiKey})
  const pending = t.send(planned(0), {queuedAtMs: nowMs()})
  while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(server.requests[0].headers.authorization).toBe(`Bearer ${apiKey}`)
  await t.threads[0].terminate()
  const record = await pending

  expect(record).toMatchObject({ok: false, error: {category: 'other'}})
  expect(JSON.stringify(record)).not.toContain(apiKey)
})

test('close() ends every thread, and fails what is still in flight instead of hanging', async () => {
  server = await startScriptedServer({body: [{wait: 5000}], keepOpen: true})
  const t = threaded({endpoint: server.endpoint()})
  const pending = [0, 1, 2].map((i) => t.send(planned(i), {queuedAtMs: nowMs()}))
  while (server.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 10))
  const exits = t.threads.map(exited)
  await t.close()
  await Promise.all(exits)

  for (const r of await Promise.all(pending)) expect(r.ok).toBe(false)
  expect(t.threads.every((w) => w.threadId === -1)).toBe(true)
  // After close a send gets a failed record at once rather than a promise that never settles.
  expect(await t.send(planned(9), {queuedAtMs: nowMs()})).toMatchObject({ok: false, error: {category: 'other', message: expect.stringMatching(/closed/)}})
})

/**
 * Runs an ESM snippet in a fresh node process against dist/ (with `nodeArgs` before it; from a file when `file` is
 * given, else with -e), resolving to its exit code (killed after 15 s).
 */
function runChild(source: string, nodeArgs: string[] = [], file?: string): Promise<number | null> {
  if (file) writeFileSync(file, source.replaceAll("'./dist/", `'${pathToFileURL(path.resolve('dist')).href}/`))
  const entry = file ? [file] : ['--input-type=module', '-e', source]
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {cwd: process.cwd(), stdio: ['ignore', 'ignore', 'inherit']})
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  return once(child, 'exit').then(([code]) => {
    clearTimeout(killer)
    return code as number | null
  })
}

test('a process using the threaded transport exits on its own: after close(), and even when close() is forgotten while idle', async () => {
  server = await startScriptedServer({body: openAiStream({tokens: 2})})
  const script = (closeIt: boolean) => `
    import {createThreadedTransport} from './dist/http/threaded-transport.js'
    const t = createThreadedTransport({endpoint: new URL(${JSON.stringify(server!.endpoint().href)}), timeoutMs: 5000, maxSockets: 4, api: 'chat', stream: true, workers: 2})
    await t.preconnect(4)
    const body = Buffer.from('{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}')
    const rs = await Promise.all([0, 1, 2].map((index) => t.send({level: 4, round: 1, index, sampleId: 's', promptPreview: 'hi', body}, {queuedAtMs: 0})))
    if (!rs.every((r) => r.ok)) process.exit(3)
    ${closeIt ? 'await t.close()' : ''}
  `
  expect(await runChild(script(true))).toBe(0)
  expect(await runChild(script(false))).toBe(0)
})

test('threads start in a process with the measuring child\'s process-wide options (relaunch.ts), run from a file or with -e', async () => {
  server = await startScriptedServer({body: openAiStream({tokens: 2})})
  const script = `
    import {createThreadedTransport} from './dist/http/threaded-transport.js'
    const t = createThreadedTransport({endpoint: new URL(${JSON.stringify(server.endpoint().href)}), timeoutMs: 5000, maxSockets: 4, api: 'chat', stream: true, workers: 2})
    const body = Buffer.from('{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}')
    const rs = await Promise.all([0, 1].map((index) => t.send({level: 4, round: 1, index, sampleId: 's', promptPreview: 'hi', body}, {queuedAtMs: 0})))
    await t.close()
    process.exit(rs.every((r) => r.ok) ? 0 : 3)
  `
  // Node refuses these in a worker's own execArgv; a worker inherits them from the process instead.
  const processWide = ['--v8-pool-size=1', '--no-memory-reducer', '--max-old-space-size=512']
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dual-bench-workers-'))
  try {
    expect(await runChild(script, processWide, path.join(dir, 'run.mjs'))).toBe(0)
    expect(await runChild(script, processWide)).toBe(0)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('a crashed thread fails its in-flight records clearly; later sends go to the live thread', async () => {
  let stall = true
  server = await startScriptedServer(() => (stall ? {body: [{wait: 10_000}], keepOpen: true} : {body: openAiStream({tokens: 2})}))
  // 4 sockets per thread: the live one has room for later sends beside its two stalled ones.
  const lost: string[] = []
  const t = threaded({endpoint: server.endpoint(), maxSockets: 8, onThreadLost: (m) => lost.push(m)})
  const pending = [0, 1, 2, 3].map((i) => t.send(planned(i), {queuedAtMs: nowMs()}))
  while (server.requests.length < 4) await new Promise((resolve) => setTimeout(resolve, 10))
  const exit = exited(t.threads[0])
  // A message the worker cannot handle throws inside it: an uncaught error, as a bug in the worker would.
  t.threads[0].postMessage([{t: 'send', id: -1, request: null}])
  await exit

  // Dispatch alternates from thread 1 (index 0): requests 0 and 2 were on the crashed thread.
  const [r0, r2] = await Promise.all([pending[0], pending[2]])
  for (const r of [r0, r2]) {
    expect(r).toMatchObject({ok: false, error: {category: 'other', message: expect.stringMatching(/^transport worker 1 of 2 crashed: /)}})
    expect(r.endedAtMs).toBeGreaterThanOrEqual(r.sentAtMs)
  }
  stall = false
  const later = await Promise.all([4, 5].map((i) => t.send(planned(i), {queuedAtMs: nowMs()})))
  expect(later.map((r) => r.ok)).toEqual([true, true])
  expect(server.requests.length).toBe(6)

  // With no thread left a send fails at once, saying why.
  await t.threads[1].terminate()
  const none = await t.send(planned(6), {queuedAtMs: nowMs()})
  expect(none).toMatchObject({ok: false, error: {category: 'other', message: expect.stringMatching(/every transport worker has stopped/)}})
  for (const r of await Promise.all([pending[1], pending[3]])) expect(r).toMatchObject({ok: false, error: {category: 'other', message: expect.stringMatching(/transport worker 2 of 2 exited unexpectedly/)}})
  // The run is told once per thread, with what is left of the level's connections.
  expect(lost).toEqual([
    expect.stringMatching(/^transport worker 1 of 2 crashed: .*; the rest of the level runs on 1 thread\(s\) with at most 4 connections instead of 8\.$/),
    'transport worker 2 of 2 exited unexpectedly (code 1); no thread is left: the rest of the level fails.',
  ])
})

test('--workers must be a positive integer', () => {
  expect(() => createThreadedTransport({endpoint: new URL('http://127.0.0.1:1/v1/chat/completions'), timeoutMs: 1000, maxSockets: 4, api: 'chat', stream: true, workers: 0})).toThrow(
    /--workers must be an integer >= 1, got 0/,
  )
})

test('worker threads inherit node options; with an entry option (-e), only those that change how modules load', () => {
  expect(workerExecArgv(['--v8-pool-size=1', '--no-memory-reducer', '--import', 'tsx'])).toBeUndefined()
  expect(workerExecArgv(['--enable-source-maps', '--input-type=module', '-e', 'code', '--experimental-vm-modules'])).toEqual(['--enable-source-maps', '--experimental-vm-modules'])
  expect(workerExecArgv(['--input-type', 'module', '--eval=x', '--import', 'tsx'])).toEqual(['--import', 'tsx'])
  expect(workerExecArgv(['--v8-pool-size=1', '--max-old-space-size=512', '-r', 'dotenv/config', '-e', 'code', '--conditions=dev'])).toEqual(['-r', 'dotenv/config', '--conditions=dev'])
})

test('a reply the main thread cannot read fails what the thread owes instead of leaving it pending', async () => {
  server = await startScriptedServer({body: [{wait: 10_000}], keepOpen: true})
  const t = threaded({endpoint: server.endpoint(), workers: 1})
  const pending = t.send(planned(0), {queuedAtMs: nowMs()})
  while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  const exit = exited(t.threads[0])
  // What Node emits when a message from the thread fails to deserialize (the records in it are lost).
  t.threads[0].emit('messageerror', new Error('could not deserialize'))
  await exit
  expect(await pending).toMatchObject({ok: false, error: {category: 'other', message: expect.stringMatching(/^transport worker 1 of 1 crashed: a message from the thread could not be read/)}})
})
