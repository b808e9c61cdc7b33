import {jest} from '@jest/globals'
import {getEventListeners} from 'node:events'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {createMeasuredTransport, isStreamOptionsRejection, preconnect, type MeasuredTransport} from '../../src/http/measured-transport.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import type {PlannedRequest, TransportOptions} from '../../src/http/transport.js'
import {nowMs} from '../../src/record/clock.js'
import {itlMs, latencyMs, ttftMs, chunkGapsMs} from '../../src/record/derive.js'
import type {RequestRecord} from '../../src/record/record.js'
import {chatChunk, jsonResponse, openAiStream, startScriptedServer, type ScriptedResponse, type ScriptedServer} from '../helpers/scripted-server.js'
import {waitFor} from '../helpers/run-cli.js'
import {selfSignedCert} from './tls-cert.js'

/** CI noise allowance for "within a few ms of what the server did" (2-core box, server in the same process). */
const TOL_MS = 15

const body = buildRequestBody({id: 's1', messages: [{role: 'user', content: 'hello'}]}, {api: 'chat', model: 'm', stream: true, includeUsage: true, salt: '[run t1]'})
const planned = (over: Partial<PlannedRequest> = {}): PlannedRequest => ({level: 4, round: 2, index: 7, sampleId: 's1', promptPreview: 'hello', body, ...over})

let server: ScriptedServer | undefined
let transport: MeasuredTransport | undefined
afterEach(async () => {
  await transport?.close()
  await server?.close()
  transport = server = undefined
})

async function setup(script: ScriptedResponse | ((req: any, n: number) => ScriptedResponse), opts: Partial<TransportOptions> = {}): Promise<{server: ScriptedServer; transport: MeasuredTransport}> {
  server = await startScriptedServer(script)
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 4, api: 'chat', stream: true, ...opts})
  return {server, transport}
}

async function sendOne(script: ScriptedResponse, opts: Partial<TransportOptions> = {}, signal?: AbortSignal): Promise<RequestRecord> {
  const {transport} = await setup(script, opts)
  return transport.send(planned(), {queuedAtMs: nowMs(), signal})
}

/** The server's clock reading when it wrote the first step whose text contains `marker`. */
function writeAt(marker: string, nth = 0): number {
  const writes = server!.requests[server!.requests.length - 1].writes.filter((w) => w.text.includes(marker))
  expect(writes.length).toBeGreaterThan(nth)
  return writes[nth].atMs
}

/** Asserts `actual` is within [expected - 1, expected + TOL_MS] (timers never fire early by more than rounding). */
function expectNear(actual: number | undefined, expected: number, tol = TOL_MS): void {
  expect(actual).toBeDefined()
  expect(actual!).toBeGreaterThanOrEqual(expected - 1.5)
  expect(actual!).toBeLessThanOrEqual(expected + tol)
}

describe('timing', () => {
  // Client and server share one event loop on a 2-core box: a GC pause or a neighbour's CPU burst can delay one
  // read past the tolerance. A real bias fails every attempt; one noisy attempt is tried again (logged).
  jest.retryTimes(2, {logErrorsBeforeRetry: true})
  test('TTFT, ITL, latency and chunk gaps match what the server did', async () => {
    const n = 8
    const stream = openAiStream({firstTokenDelayMs: 120, tokens: n, itlMs: 30, usage: {prompt_tokens: 9, completion_tokens: n}})
    const {server, transport} = await setup((req) => (req.method === 'GET' ? jsonResponse(200, {data: []}) : {body: stream}))
    // As the runner does before a level's clock starts: without it the first request pays the connect
    // and Node's lazy first-request setup (~10 ms here) inside its TTFT.
    await preconnect(transport, 1)
    const record = await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(record.ok).toBe(true)
    expect(server.connections).toBe(1)
    const req = server.requests[1]
    const contentWrites = req.writes.filter((w) => /"content":"t\d/.test(w.text))
    expect(contentWrites).toHaveLength(n)
    const doneWrite = req.writes.find((w) => w.text.includes('[DONE]'))!

    // Against the server's own clock readings (same process, same clock).
    expect(record.sentAtMs).toBeLessThanOrEqual(req.receivedAtMs)
    expect(req.receivedAtMs - record.sentAtMs).toBeLessThan(TOL_MS)
    expectNear(record.headersAtMs! - record.sentAtMs, req.headersSentAtMs! - record.sentAtMs)
    expectNear(record.firstTokenAtMs! - record.sentAtMs, contentWrites[0].atMs - record.sentAtMs)
    expectNear(record.lastTokenAtMs! - record.sentAtMs, contentWrites[n - 1].atMs - record.sentAtMs)
    expectNear(record.endedAtMs - record.sentAtMs, doneWrite.atMs - record.sentAtMs)

    // Derived metrics against the same quantities computed from the server's writes, both ways.
    const serverTtft = contentWrites[0].atMs - record.sentAtMs
    const serverLatency = doneWrite.atMs - record.sentAtMs
    const serverItl = (serverLatency - serverTtft) / (n - 1)
    expectNear(ttftMs(record), serverTtft)
    expectNear(latencyMs(record), serverLatency)
    expect(Math.abs(itlMs(record)! - serverItl)).toBeLessThanOrEqual(TOL_MS / (n - 1) + 0.5)
    expect(record.chunkOffsetsMs).toHaveLength(n)
    chunkGapsMs(record).forEach((gap, i) => expect(Math.abs(gap - (contentWrites[i + 1].atMs - contentWrites[i].atMs))).toBeLessThanOrEqual(TOL_MS))

    // And against the script: timers never fire early, so the lower bounds are tight; a loaded box makes
    // the server's sleeps late and the lateness adds up, so the upper bounds are loose.
    expectNear(ttftMs(record), 120, 4 * TOL_MS)
    expectNear(latencyMs(record), 120 + 30 * (n - 1), 8 * TOL_MS)
    expect(record).toMatchObject({level: 4, round: 2, index: 7, sampleId: 's1', promptPreview: 'hello', contentChunks: n, finishReason: 'stop'})
    expect(record.outputPreview).toBe(Array.from({length: n}, (_, i) => `t${i} `).join(''))
  })

  test('reasoning_content counts for TTFT', async () => {
    const record = await sendOne({
      body: [{wait: 50}, {sse: chatChunk({reasoning_content: 'Let me think'})}, {wait: 100}, {sse: chatChunk({content: 'Answer'})}, {sse: chatChunk({}, {}, 'stop')}, {sse: '[DONE]'}],
    })
    expect(record.ok).toBe(true)
    expectNear(record.firstTokenAtMs! - writeAt('Let me think'), 0)
    expect(writeAt('Answer') - record.firstTokenAtMs!).toBeGreaterThan(80)
    expect(record.contentChunks).toBe(2)
  })

  test('a response that only calls a tool: TTFT is its first tool-call delta, every delta a chunk', async () => {
    const call = (fn: Record<string, string>) => ({choices: [{index: 0, delta: {tool_calls: [{index: 0, function: fn}]}, finish_reason: null}]})
    const record = await sendOne({
      body: [{wait: 50}, {sse: call({name: 'get_weather', arguments: ''})}, {wait: 30}, {sse: call({arguments: '{"city":"Paris"}'})}, {sse: chatChunk({}, {}, 'tool_calls')}, {sse: '[DONE]'}],
    })
    expect(record).toMatchObject({ok: true, contentChunks: 2, finishReason: 'tool_calls', outputPreview: 'get_weather{"city":"Paris"}'})
    expectNear(record.firstTokenAtMs! - writeAt('get_weather'), 0)
    expect(record.chunkOffsetsMs).toHaveLength(2)
  })

  test('`: ping` comments before the first token do not count as a token', async () => {
    const record = await sendOne({body: [{raw: ': ping\n\n'}, {wait: 40}, {raw: ': ping\n\n'}, {wait: 40}, ...openAiStream({tokens: 2})]})
    expect(record.ok).toBe(true)
    expectNear(record.firstTokenAtMs! - writeAt('"content":"t0 "'), 0)
    expect(record.firstTokenAtMs! - writeAt(': ping', 1)).toBeGreaterThan(30)
    expect(record.outputTokens).toBe(2)
  })

  test('the whole-request clock starts at send, queue time is kept apart', async () => {
    const {transport} = await setup({body: openAiStream({tokens: 1})})
    const queuedAtMs = nowMs() - 500
    const record = await transport.send(planned(), {queuedAtMs})
    expect(record.queuedAtMs).toBe(queuedAtMs)
    expect(record.sentAtMs - queuedAtMs).toBeGreaterThanOrEqual(500)
    expect(latencyMs(record)!).toBeLessThan(200)
  })
})

describe('tokens and usage', () => {
  test('usage.completion_tokens wins over the chunk count', async () => {
    const record = await sendOne({body: openAiStream({tokens: 3, usage: {prompt_tokens: 20, completion_tokens: 42, cached_tokens: 16}})})
    expect(record).toMatchObject({ok: true, outputTokens: 42, outputTokensSource: 'usage', contentChunks: 3, inputTokens: 20, cachedTokens: 16, cachedTokensSource: 'usage.prompt_tokens_details.cached_tokens'})
  })

  test('without usage, tokens are counted from content chunks', async () => {
    const record = await sendOne({body: openAiStream({tokens: 5})})
    expect(record).toMatchObject({ok: true, outputTokens: 5, outputTokensSource: 'chunks', contentChunks: 5})
    expect(record.inputTokens).toBeUndefined()
    expect(record.cachedTokens).toBeUndefined()
  })

  test('chunks split across TCP writes mid-line and mid-UTF-8 character', async () => {
    const first = Buffer.from(`data: ${JSON.stringify(chatChunk({content: 'é🚀'}))}\n\n`, 'utf8')
    const eAt = first.indexOf(Buffer.from('é')) + 1 // inside é
    const rocketAt = first.indexOf(Buffer.from('🚀')) + 2 // inside the emoji
    const record = await sendOne({
      body: [
        {raw: first.subarray(0, 10)},
        {wait: 10},
        {raw: first.subarray(10, eAt)},
        {wait: 10},
        {raw: first.subarray(eAt, rocketAt)},
        {wait: 10},
        {raw: first.subarray(rocketAt)},
        {raw: `data: ${JSON.stringify(chatChunk({content: ' ok'}))}`},
        {wait: 10},
        {raw: '\n\ndata: [DO'},
        {wait: 10},
        {raw: 'NE]\n\n'},
      ],
    })
    expect(record.ok).toBe(true)
    expect(record.outputPreview).toBe('é🚀 ok')
    expect(record.contentChunks).toBe(2)
    // The first token is the moment the last piece of the first event arrived, not its first byte.
    const lastPiece = server!.requests[0].writes[3].atMs
    expectNear(record.firstTokenAtMs! - lastPiece, 0)
  })

  test('llama.cpp final chunk: content + finish_reason + usage + timings.cache_n', async () => {
    const record = await sendOne({
      body: [
        {sse: chatChunk({content: 'a'})},
        {sse: chatChunk({content: 'b'}, {usage: {prompt_tokens: 64, completion_tokens: 2, total_tokens: 66}, timings: {cache_n: 60, prompt_n: 4, predicted_n: 2}}, 'stop')},
        {sse: '[DONE]'},
      ],
    })
    expect(record).toMatchObject({ok: true, contentChunks: 2, outputTokens: 2, outputTokensSource: 'usage', inputTokens: 64, cachedTokens: 60, cachedTokensSource: 'timings.cache_n', finishReason: 'stop'})
  })

  test('older llama.cpp: cached = prompt_tokens − timings.prompt_n; no [DONE] after finish is fine', async () => {
    const record = await sendOne({
      body: [{sse: chatChunk({content: 'a'})}, {sse: chatChunk({}, {usage: {prompt_tokens: 64, completion_tokens: 1}, timings: {prompt_n: 14, predicted_n: 1}}, 'stop')}],
    })
    expect(record).toMatchObject({ok: true, cachedTokens: 50, cachedTokensSource: 'usage.prompt_tokens-timings.prompt_n'})
  })

  test('SGLang meta_info.cached_tokens', async () => {
    const record = await sendOne({body: [{sse: chatChunk({content: 'a'}, {meta_info: {cached_tokens: 31}}, 'stop')}, {sse: '[DONE]'}]})
    expect(record).toMatchObject({ok: true, cachedTokens: 31, cachedTokensSource: 'meta_info.cached_tokens'})
  })

  test('completions API: text chunks', async () => {
    server = await startScriptedServer({body: openAiStream({api: 'completions', tokens: ['a', 'b', 'c'], usage: {prompt_tokens: 3, completion_tokens: 3}})})
    transport = createMeasuredTransport({endpoint: server.endpoint('/v1/completions'), timeoutMs: 5000, maxSockets: 1, api: 'completions', stream: true})
    const record = await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(server.requests[0].url).toBe('/v1/completions')
    expect(record).toMatchObject({ok: true, contentChunks: 3, outputTokens: 3, outputPreview: 'abc'})
  })

  test('non-streaming: latency and usage, no TTFT', async () => {
    const record = await sendOne(
      {
        headersDelayMs: 60,
        ...jsonResponse(200, {choices: [{message: {role: 'assistant', content: 'whole answer'}, finish_reason: 'stop'}], usage: {prompt_tokens: 8, completion_tokens: 2}}),
      },
      {stream: false},
    )
    expect(record).toMatchObject({ok: true, outputTokens: 2, outputTokensSource: 'usage', inputTokens: 8, outputPreview: 'whole answer', finishReason: 'stop'})
    expect(record.firstTokenAtMs).toBeUndefined()
    expect(record.chunkOffsetsMs).toBeUndefined()
    expect(ttftMs(record)).toBeUndefined()
    expectNear(record.endedAtMs - server!.requests[0].writes[0].atMs, 0)
    expect(latencyMs(record)).toBeGreaterThanOrEqual(60 - 1.5)
    expect(server!.requests[0].headers.accept).toBe('application/json')
  })

  test('a JSON answer to a streaming request is read as a whole body', async () => {
    const record = await sendOne(jsonResponse(200, {choices: [{message: {content: 'x'}, finish_reason: 'stop'}], usage: {prompt_tokens: 1, completion_tokens: 1}}))
    expect(record).toMatchObject({ok: true, outputTokens: 1, outputTokensSource: 'usage'})
    expect(record.firstTokenAtMs).toBeUndefined()
  })
})

describe('failures are records', () => {
  test('HTTP 4xx with an OpenAI error object', async () => {
    const record = await sendOne(jsonResponse(400, {error: {message: 'max_tokens is too large: 99999', type: 'BadRequestError', code: 400}}))
    expect(record.ok).toBe(false)
    expect(record.error).toEqual({category: 'http_4xx', httpStatus: 400, message: 'max_tokens is too large: 99999'})
    expect(isStreamOptionsRejection(record)).toBe(false)
  })

  test('HTTP 5xx with a long text body: trimmed to ~300 chars', async () => {
    const record = await sendOne({status: 503, headers: {'content-type': 'text/plain'}, body: [{raw: 'overloaded '.repeat(100)}]})
    expect(record.error?.category).toBe('http_5xx')
    expect(record.error?.httpStatus).toBe(503)
    expect(record.error!.message.startsWith('overloaded overloaded')).toBe(true)
    expect(record.error!.message.length).toBeLessThanOrEqual(300)
  })

  test('HTTP 5xx with an empty body names the status', async () => {
    const record = await sendOne({status: 502, body: []})
    expect(record.error).toEqual({category: 'http_5xx', httpStatus: 502, message: 'HTTP 502 Bad Gateway'})
  })

  test('connection refused', async () => {
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    transport = createMeasuredTransport({endpoint: new URL(`http://127.0.0.1:${port}/v1/chat/completions`), timeoutMs: 2000, maxSockets: 1, api: 'chat', stream: true})
    const record = await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(record.ok).toBe(false)
    expect(record.error?.category).toBe('connection')
    expect(record.error?.message).toMatch(/ECONNREFUSED/)
    expect(record.endedAtMs).toBeGreaterThanOrEqual(record.sentAtMs)
  })

  test('connection reset before headers', async () => {
    const record = await sendOne({resetBeforeHeaders: true})
    expect(record.error?.category).toBe('connection')
  })

  test('TLS failure (https to a plain-HTTP server) is a connection failure', async () => {
    server = await startScriptedServer({body: openAiStream()})
    transport = createMeasuredTransport({endpoint: new URL(`https://127.0.0.1:${server.url.port}/v1/chat/completions`), timeoutMs: 2000, maxSockets: 1, api: 'chat', stream: true})
    const record = await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(record.error?.category).toBe('connection')
  })

  test('whole-request timeout while the server stalls before headers', async () => {
    const record = await sendOne({headersDelayMs: 1000, body: openAiStream()}, {timeoutMs: 150})
    expect(record.error?.category).toBe('timeout')
    expectNear(record.endedAtMs - record.sentAtMs, 150, 40)
  })

  test('whole-request timeout mid-stream', async () => {
    const record = await sendOne({body: openAiStream({tokens: 20, itlMs: 30})}, {timeoutMs: 200})
    expect(record.error?.category).toBe('timeout')
    expect(record.contentChunks).toBeGreaterThan(2)
  })

  test('first_token_timeout: headers arrive, content does not', async () => {
    const record = await sendOne({body: [{raw: ': ping\n\n'}, {wait: 1000}, ...openAiStream()]}, {timeoutMs: 3000, firstTokenTimeoutMs: 120})
    expect(record.error?.category).toBe('first_token_timeout')
    expect(record.headersAtMs).toBeDefined()
    expectNear(record.endedAtMs - record.sentAtMs, 120, 40)
  })

  test('first-token timeout does not fire once content has started', async () => {
    const record = await sendOne({body: openAiStream({firstTokenDelayMs: 20, tokens: 6, itlMs: 40})}, {firstTokenTimeoutMs: 100})
    expect(record.ok).toBe(true)
  })

  test('stream_cut: connection dies mid-stream', async () => {
    const record = await sendOne({body: [...openAiStream({tokens: 3, done: false, finishReason: null}), {wait: 20}, {destroy: true}]})
    expect(record.ok).toBe(false)
    expect(record.error?.category).toBe('stream_cut')
    expect(record.contentChunks).toBe(3)
  })

  test('stream_cut: body ends cleanly but without [DONE] or finish_reason', async () => {
    const record = await sendOne({body: openAiStream({tokens: 3, done: false, finishReason: null})})
    expect(record.error?.category).toBe('stream_cut')
  })

  test('stream_cut, not malformed: body ends in the middle of a data line', async () => {
    const record = await sendOne({body: [{sse: chatChunk({content: 'a'})}, {raw: 'data: {"choices":[{"delta":{"cont'}]})
    expect(record.error?.category).toBe('stream_cut')
  })

  test('finish_reason and usage but no [DONE] is a complete response', async () => {
    const record = await sendOne({body: openAiStream({tokens: 2, done: false, usage: {prompt_tokens: 1, completion_tokens: 2}})})
    expect(record).toMatchObject({ok: true, outputTokens: 2, outputTokensSource: 'usage', finishReason: 'stop'})
  })

  test('malformed JSON data line', async () => {
    const record = await sendOne({body: [{sse: chatChunk({content: 'a'})}, {raw: 'data: {not json}\n\n'}, ...openAiStream()]})
    expect(record.error?.category).toBe('malformed_sse')
    expect(record.error?.message).toContain('{not json}')
  })

  test('server error event inside the stream', async () => {
    const record = await sendOne({body: [{sse: chatChunk({content: 'a'})}, {sse: {error: {message: 'engine died', type: 'InternalServerError', code: 500}}}, {sse: '[DONE]'}]})
    expect(record.error).toEqual({category: 'server_error_event', message: 'engine died'})
  })

  test('AbortSignal mid-stream → cancelled, promptly', async () => {
    const controller = new AbortController()
    let abortedAtMs = 0
    const {transport} = await setup({body: openAiStream({tokens: 50, itlMs: 20})})
    const pending = transport.send(planned(), {queuedAtMs: nowMs(), signal: controller.signal})
    setTimeout(() => {
      abortedAtMs = nowMs()
      controller.abort()
    }, 80)
    const record = await pending
    expect(record.error?.category).toBe('cancelled')
    expectNear(record.endedAtMs - abortedAtMs, 0)
    expect(record.contentChunks).toBeGreaterThan(0)
    expect(record.contentChunks).toBeLessThan(50)
  })

  test('a request waiting for a slot is cancelled too, never sent; the transport listens once per signal while its sends last', async () => {
    const controller = new AbortController()
    const {server, transport} = await setup((_req, n) => ({body: openAiStream(n === 1 ? {tokens: 50, itlMs: 20} : {tokens: 2})}), {maxSockets: 1})
    const pending = [0, 1, 2].map((index) => transport.send(planned({index}), {queuedAtMs: nowMs(), signal: controller.signal}))
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    await waitFor(() => server.requests.length === 1, 'the first request to reach the server')
    const abortedAtMs = nowMs()
    controller.abort()
    const records = await Promise.all(pending)
    expect(records.map((r) => r.error?.category)).toEqual(['cancelled', 'cancelled', 'cancelled'])
    for (const r of records) expectNear(r.endedAtMs - abortedAtMs, 0)
    expect(records[0].contentChunks ?? 0).toBeLessThan(50)
    expect(server.requests).toHaveLength(1)

    // No listener outlives the sends that needed it: a caller may pass a fresh signal with every send.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    for (let i = 0; i < 3; i++) {
      const fresh = new AbortController()
      const sending = transport.send(planned({index: 3 + i}), {queuedAtMs: nowMs(), signal: fresh.signal})
      expect(getEventListeners(fresh.signal, 'abort')).toHaveLength(1)
      expect(await sending).toMatchObject({ok: true})
      expect(getEventListeners(fresh.signal, 'abort')).toHaveLength(0)
    }
  })

  test('an already-aborted signal sends nothing', async () => {
    const {server, transport} = await setup({body: openAiStream()})
    const record = await transport.send(planned(), {queuedAtMs: nowMs(), signal: AbortSignal.abort()})
    expect(record.error?.category).toBe('cancelled')
    expect(server.requests).toHaveLength(0)
  })
})

describe('stream_options rejection', () => {
  test('400 mentioning stream_options (pydantic v2 wording)', async () => {
    const record = await sendOne(jsonResponse(400, {error: {message: "[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted'}]"}}))
    expect(isStreamOptionsRejection(record)).toBe(true)
  })

  test('422 FastAPI detail array (pydantic v1 wording)', async () => {
    const record = await sendOne(jsonResponse(422, {detail: [{loc: ['body', 'stream_options'], msg: 'extra fields not permitted', type: 'value_error.extra'}]}))
    expect(record.error?.message).toBe('body.stream_options: extra fields not permitted')
    expect(isStreamOptionsRejection(record)).toBe(true)
  })

  test('other 400s, 5xx mentioning it, and successes are not rejections', async () => {
    const r500 = await sendOne(jsonResponse(500, {error: {message: 'crash while handling stream_options'}}))
    expect(isStreamOptionsRejection(r500)).toBe(false)
    await transport!.close()
    await server!.close()
    const ok = await sendOne({body: openAiStream()})
    expect(isStreamOptionsRejection(ok)).toBe(false)
  })
})

describe('headers and secrets', () => {
  const key = 'sk-test-SECRET-1234567890'

  test('Authorization: Bearer <key> is sent when apiKey is set, with JSON and SSE headers', async () => {
    const {server, transport} = await setup({body: openAiStream()}, {apiKey: key, headers: {'X-Team': 'bench'}})
    await transport.send(planned(), {queuedAtMs: nowMs()})
    const h = server.requests[0].headers
    expect(h.authorization).toBe(`Bearer ${key}`)
    expect(h['content-type']).toBe('application/json')
    expect(h.accept).toBe('text/event-stream')
    expect(h['x-team']).toBe('bench')
    expect(Number(h['content-length'])).toBe(body.length)
    expect(server.requests[0].body.equals(body)).toBe(true)
  })

  test('no Authorization header without apiKey', async () => {
    const {server, transport} = await setup({body: openAiStream()})
    await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(server.requests[0].headers.authorization).toBeUndefined()
  })

  test('the key never appears in an error message, even when the server echoes it', async () => {
    const record = await sendOne(jsonResponse(401, {error: {message: `Invalid key ${key}; header was Bearer ${key}`}}), {apiKey: key})
    expect(record.error?.category).toBe('http_4xx')
    expect(JSON.stringify(record)).not.toContain(key)
    expect(record.error?.message).toContain('***')

    await transport!.close()
    await server!.close()
    const inStream = await sendOne({body: [{sse: {error: {message: `bad key ${key}`}}}]}, {apiKey: key})
    expect(inStream.error?.category).toBe('server_error_event')
    expect(JSON.stringify(inStream)).not.toContain(key)
  })
})

describe('keep-alive pool', () => {
  test('maxSockets bounds both concurrency and connections; sockets are reused', async () => {
    const {server, transport} = await setup({body: openAiStream({firstTokenDelayMs: 30, tokens: 2})}, {maxSockets: 3})
    const records = await Promise.all(Array.from({length: 9}, (_, i) => transport.send(planned({index: i}), {queuedAtMs: nowMs()})))
    expect(records.every((r) => r.ok)).toBe(true)
    expect(server.maxInFlight).toBe(3)
    expect(server.connections).toBe(3)
  })

  test('preconnect opens n sockets without a measured request, and later sends reuse them', async () => {
    const {server, transport} = await setup({body: openAiStream({tokens: 1})}, {maxSockets: 4, apiKey: 'k'})
    server.respond((req) => (req.method === 'GET' ? jsonResponse(200, {data: [{id: 'm'}]}) : {body: openAiStream({tokens: 1})}))
    await preconnect(transport, 4)
    expect(server.connections).toBe(4)
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(4).fill('GET /v1/models'))
    expect(server.requests[0].headers.authorization).toBe('Bearer k')
    const records = await Promise.all(Array.from({length: 4}, (_, i) => transport.send(planned({index: i}), {queuedAtMs: nowMs()})))
    expect(records.every((r) => r.ok)).toBe(true)
    expect(server.connections).toBe(4)
  })

  test("one slot's streams one after another: each record gets only its own events and arrival times", async () => {
    // The first stream is cut off by the timeout with half a line and half of a UTF-8 character pending; the slot's
    // next streams (one long enough to outgrow the reader's first arrival buffer) must start clean.
    const partial = Buffer.concat([Buffer.from('data: {"choices":[{"delta":{"content":"'), Buffer.from('é').subarray(0, 1)])
    const lengths = [0, 150, 3]
    const {transport} = await setup(
      (_req, n) => (n === 1 ? {body: [{sse: chatChunk({content: 'a'})}, {raw: partial}, {wait: 5000}]} : {body: openAiStream({tokens: lengths[n - 1]})}),
      {maxSockets: 1, timeoutMs: 300},
    )
    const first = await transport.send(planned({index: 0}), {queuedAtMs: nowMs()})
    expect(first).toMatchObject({ok: false, contentChunks: 1, error: {category: 'timeout'}})
    for (const n of [1, 2]) {
      const record = await transport.send(planned({index: n}), {queuedAtMs: nowMs()})
      expect(record).toMatchObject({ok: true, contentChunks: lengths[n], outputTokens: lengths[n]})
      expect(record.outputPreview!.startsWith('t0 t1 t2 ')).toBe(true)
      const offsets = record.chunkOffsetsMs!
      expect(offsets).toHaveLength(lengths[n])
      offsets.forEach((t, i) => expect(t).toBeGreaterThanOrEqual(i === 0 ? 0 : offsets[i - 1]))
      expect(record.firstTokenAtMs! - record.sentAtMs).toBeCloseTo(offsets[0], 2)
    }
  })

  test('a reused socket the server drops before answering is retried once on a fresh one', async () => {
    const {server, transport} = await setup((req, n) => (n === 2 ? {resetBeforeHeaders: true} : {body: openAiStream({tokens: 2})}), {maxSockets: 1})
    expect((await transport.send(planned(), {queuedAtMs: nowMs()})).ok).toBe(true)
    const second = await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(second).toMatchObject({ok: true, outputTokens: 2})
    expect(server.requests.map((r) => r.connection)).toEqual([1, 1, 2])
    expect(second.sentAtMs).toBeGreaterThan(server.requests[1].receivedAtMs)
  })

  test('a fresh socket dropped before answering is not retried', async () => {
    const {server, transport} = await setup({resetBeforeHeaders: true}, {maxSockets: 1})
    expect((await transport.send(planned(), {queuedAtMs: nowMs()})).error?.category).toBe('connection')
    expect(server.requests).toHaveLength(1)
  })

  test('timeoutMs 0 means no whole-request limit', async () => {
    const record = await sendOne({body: openAiStream({firstTokenDelayMs: 30, tokens: 2})}, {timeoutMs: 0})
    expect(record.ok).toBe(true)
  })

  test('preconnect never rejects: server down, or a transport without sockets', async () => {
    transport = createMeasuredTransport({endpoint: new URL('http://127.0.0.1:9/v1/chat/completions'), timeoutMs: 1000, maxSockets: 2, api: 'chat', stream: true})
    await expect(preconnect(transport, 2)).resolves.toBeUndefined()
    const fake = {send: async () => ({}) as RequestRecord, close: async () => {}}
    await expect(preconnect(fake, 2)).resolves.toBeUndefined()
  })
})

describe('TLS', () => {
  test('a self-signed certificate fails without insecure and works with it', async () => {
    const tls = selfSignedCert()
    server = await startScriptedServer({body: openAiStream({tokens: 2})}, {tls})
    const base = {endpoint: server.endpoint(), timeoutMs: 3000, maxSockets: 1, api: 'chat' as const, stream: true}
    const strict = createMeasuredTransport(base)
    const rejected = await strict.send(planned(), {queuedAtMs: nowMs()})
    await strict.close()
    expect(rejected.error?.category).toBe('connection')
    transport = createMeasuredTransport({...base, insecure: true})
    const ok = await transport.send(planned(), {queuedAtMs: nowMs()})
    expect(ok).toMatchObject({ok: true, outputTokens: 2})
  })
})
