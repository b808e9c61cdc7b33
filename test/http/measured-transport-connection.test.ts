import {setMaxListeners} from 'node:events'
import {createMeasuredTransport, preconnect, type MeasuredTransport} from '../../src/http/measured-transport.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import type {PlannedRequest} from '../../src/http/transport.js'
import {nowMs} from '../../src/record/clock.js'
import {jsonResponse, openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'
import {selfSignedCert} from './tls-cert.js'

/** Issue #6: each record says whether its request paid for a connect, and how long that connect took. */

const body = buildRequestBody({id: 's1', messages: [{role: 'user', content: 'hello'}]}, {api: 'chat', model: 'm', stream: true, includeUsage: true})
const planned = (index = 0): PlannedRequest => ({level: 1, round: 1, index, sampleId: `s${index}`, promptPreview: 'hello', body})

let server: ScriptedServer | undefined
let transport: MeasuredTransport | undefined
afterEach(async () => {
  await transport?.close()
  await server?.close()
  transport = server = undefined
})

const script = (req: {method: string}) => (req.method === 'GET' ? jsonResponse(200, {data: []}) : {body: openAiStream({tokens: 3})})

test('a request that opens its connection records connectMs; the next one on the same keep-alive socket records reuse', async () => {
  server = await startScriptedServer(script)
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: true})
  const first = await transport.send(planned(0), {queuedAtMs: nowMs()})
  const second = await transport.send(planned(1), {queuedAtMs: nowMs()})

  expect(first).toMatchObject({ok: true, reusedConnection: false})
  expect(typeof first.connectMs).toBe('number')
  expect(first.connectMs!).toBeGreaterThanOrEqual(0)
  // The connect happened after the send stamp and before the response: it is inside this request's TTFT.
  expect(first.connectMs!).toBeLessThanOrEqual(first.headersAtMs! - first.sentAtMs)
  expect(second).toMatchObject({ok: true, reusedConnection: true})
  expect(second.connectMs).toBeUndefined()
  expect(server.connections).toBe(1)
})

test('after preconnect no request pays for a connect', async () => {
  server = await startScriptedServer(script)
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 3, api: 'chat', stream: true})
  await preconnect(transport, 3)
  const records = await Promise.all([0, 1, 2].map((i) => transport!.send(planned(i), {queuedAtMs: nowMs()})))

  for (const r of records) {
    expect(r).toMatchObject({ok: true, reusedConnection: true})
    expect(r.connectMs).toBeUndefined()
  }
  expect(server.connections).toBe(3)
})

test('over https connectMs covers the TLS handshake of a new connection', async () => {
  server = await startScriptedServer({body: openAiStream({tokens: 2})}, {tls: selfSignedCert()})
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: true, insecure: true})
  const first = await transport.send(planned(0), {queuedAtMs: nowMs()})
  const second = await transport.send(planned(1), {queuedAtMs: nowMs()})

  expect(first).toMatchObject({ok: true, reusedConnection: false})
  // A TLS handshake takes at least one round trip and some crypto: never exactly zero.
  expect(first.connectMs!).toBeGreaterThan(0)
  expect(first.connectMs!).toBeLessThanOrEqual(first.headersAtMs! - first.sentAtMs)
  expect(second).toMatchObject({ok: true, reusedConnection: true})
  expect(second.connectMs).toBeUndefined()
})

test('a burst of sends is paced, not lost: every request is sent once and settles with its own record', async () => {
  server = await startScriptedServer(script)
  const n = 200
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 10_000, maxSockets: n, api: 'chat', stream: true})
  const records = await Promise.all(Array.from({length: n}, (_, i) => transport!.send(planned(i), {queuedAtMs: nowMs()})))

  expect(records.map((r) => r.index)).toEqual(Array.from({length: n}, (_, i) => i))
  for (const r of records) {
    expect(r).toMatchObject({ok: true, outputTokens: 3})
    // Waiting for a pacing slice is client queue time: the send stamp is taken when the request really starts.
    expect(r.sentAtMs).toBeGreaterThanOrEqual(r.queuedAtMs)
    expect(r.firstTokenAtMs!).toBeGreaterThanOrEqual(r.headersAtMs!)
  }
  expect(server.requests.filter((q) => q.method === 'POST')).toHaveLength(n)
})

test('a request cancelled while it waits for its pacing slice is never sent', async () => {
  server = await startScriptedServer(script)
  const n = 300
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 10_000, maxSockets: n, api: 'chat', stream: true})
  const cancel = new AbortController()
  setMaxListeners(n, cancel.signal)
  const pending = Array.from({length: n}, (_, i) => transport!.send(planned(i), {queuedAtMs: nowMs(), signal: cancel.signal}))
  cancel.abort()
  const records = await Promise.all(pending)

  for (const r of records) {
    expect(r.ok || r.error?.category === 'cancelled').toBe(true)
    expect(r.sentAtMs).toBeGreaterThanOrEqual(r.queuedAtMs)
    expect(r.endedAtMs).toBeGreaterThanOrEqual(r.sentAtMs)
  }
  // 300 starts do not fit in one slice: those still queued at the abort never reached the server.
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(server.requests.filter((q) => q.method === 'POST').length).toBeLessThan(n)
})

test('a request written onto a keep-alive socket the server has just closed is resent once, on a new connection', async () => {
  // The server drops the second request's (reused) connection without answering, as one closing an idle socket does.
  server = await startScriptedServer((_req, n) => (n === 2 ? {resetBeforeHeaders: true} : {body: openAiStream({tokens: 2})}))
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: true})
  const first = await transport.send(planned(0), {queuedAtMs: nowMs()})
  const second = await transport.send(planned(1), {queuedAtMs: nowMs()})

  expect(first).toMatchObject({ok: true, reusedConnection: false})
  expect(second).toMatchObject({ok: true, outputTokens: 2, reusedConnection: false})
  expect(server.requests.map((q) => q.connection)).toEqual([1, 1, 2])
})

test('a response still open after [DONE] gives its connection back by the --timeout deadline, on a fresh socket', async () => {
  server = await startScriptedServer((_req, n) => ({body: openAiStream({tokens: 2}), keepOpen: n === 1}))
  const timeoutMs = 400
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs, maxSockets: 1, api: 'chat', stream: true})
  const first = await transport.send(planned(0), {queuedAtMs: nowMs()})
  const second = await transport.send(planned(1), {queuedAtMs: nowMs()})

  // The record settled at [DONE]; only the slot waited for the body's end, until the deadline cut it.
  expect(first).toMatchObject({ok: true, outputTokens: 2})
  expect(first.endedAtMs - first.sentAtMs).toBeLessThan(timeoutMs / 2)
  expect(second.sentAtMs - first.sentAtMs).toBeGreaterThanOrEqual(timeoutMs - 5)
  expect(second).toMatchObject({ok: true, reusedConnection: false})
  expect(server.connections).toBe(2)
})
