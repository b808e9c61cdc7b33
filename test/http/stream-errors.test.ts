/**
 * Streams that answer HTTP 200 and still carry a failure, or whose numbers need the server's own usage details to be
 * right: in-stream error events (llama.cpp's `error:` line, `event: error`), `[DONE]` with nothing before it, hidden
 * reasoning tokens, and compressed bodies. Real scripted servers on 127.0.0.1, the real measured transport.
 */
import {gzipSync} from 'node:zlib'
import {createMeasuredTransport, type MeasuredTransport} from '../../src/http/measured-transport.js'
import {createSseParser} from '../../src/http/sse.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import type {PlannedRequest, TransportOptions} from '../../src/http/transport.js'
import {nowMs} from '../../src/record/clock.js'
import {itlMs, outputSpeedTps} from '../../src/record/derive.js'
import type {RequestRecord} from '../../src/record/record.js'
import {chatChunk, openAiStream, startScriptedServer, type ScriptedResponse, type ScriptedServer, type Step} from '../helpers/scripted-server.js'

const body = buildRequestBody({id: 's1', messages: [{role: 'user', content: 'hello'}]}, {api: 'chat', model: 'm', stream: true, includeUsage: true, salt: '[run t1]'})
const planned: PlannedRequest = {level: 1, round: 1, index: 0, sampleId: 's1', promptPreview: 'hello', body}

let server: ScriptedServer | undefined
let transport: MeasuredTransport | undefined
afterEach(async () => {
  await transport?.close()
  await server?.close()
  transport = server = undefined
})

async function sendOne(script: ScriptedResponse, opts: Partial<TransportOptions> = {}): Promise<RequestRecord> {
  server = await startScriptedServer(script)
  transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: true, ...opts})
  return transport.send(planned, {queuedAtMs: nowMs()})
}

const LLAMA_CONTEXT_ERROR = '{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}'

describe('error events after HTTP 200', () => {
  test("the SSE layer hands llama.cpp's `error:` line and `event: error` on as error-typed events", () => {
    const seen: [string, string | undefined][] = []
    const p = createSseParser((bytes, start, end, event) => seen.push([bytes.toString('utf8', start, end), event]))
    p.feed(Buffer.from(`data: {"a":1}\n\nerror: ${LLAMA_CONTEXT_ERROR}\n\nevent: error\ndata: {"message":"boom"}\n\nretry: 5\nfoo: bar\n\ndata: [DONE]\n\n`))
    p.end()
    expect(seen).toEqual([
      ['{"a":1}', undefined],
      [LLAMA_CONTEXT_ERROR, 'error'],
      ['{"message":"boom"}', 'error'],
      ['[DONE]', undefined],
    ])
  })

  test("llama.cpp's `error: {…}` line then [DONE] fails the request with the server's message", async () => {
    const record = await sendOne({body: [{raw: `error: ${LLAMA_CONTEXT_ERROR}\n\n`}, {sse: '[DONE]'}]})
    expect(record.ok).toBe(false)
    expect(record.error).toEqual({category: 'server_error_event', message: 'the request exceeds the available context size, try increasing it'})
  })

  test('`event: error` with a JSON message fails the request, after a role chunk', async () => {
    const record = await sendOne({
      body: [{sse: chatChunk({role: 'assistant', content: ''})}, {raw: 'event: error\ndata: {"message":"prompt is too long","code":400}\n\n'}, {sse: '[DONE]'}],
    })
    expect(record.ok).toBe(false)
    expect(record.error).toEqual({category: 'server_error_event', message: 'prompt is too long'})
  })

  test('a long plain-text error event is clipped, and an error after content still fails', async () => {
    const long = 'x'.repeat(1000)
    const record = await sendOne({body: [{sse: chatChunk({content: 'Hi'})}, {raw: `event: error\ndata: ${long}\n\n`}, {sse: '[DONE]'}]})
    expect(record.ok).toBe(false)
    expect(record.error!.category).toBe('server_error_event')
    expect(record.error!.message.length).toBe(300)
    expect(record.error!.message.endsWith('…')).toBe(true)
    expect(record.contentChunks).toBe(1)
  })
})

describe('[DONE] without an answer', () => {
  test('a role chunk then [DONE] is a failure, not an empty success', async () => {
    const record = await sendOne({body: [{sse: chatChunk({role: 'assistant', content: ''})}, {sse: '[DONE]'}]})
    expect(record.ok).toBe(false)
    expect(record.error).toEqual({category: 'other', message: 'the stream ended ([DONE]) without any output or finish_reason'})
  })

  test.each(['length', 'stop'])('zero content with finish_reason %s stays ok', async (finishReason) => {
    const record = await sendOne({body: openAiStream({tokens: [], finishReason, usage: {prompt_tokens: 5, completion_tokens: 0}})})
    expect(record.ok).toBe(true)
    expect(record.finishReason).toBe(finishReason)
    expect(record.outputTokens).toBe(0)
  })
})

describe('hidden reasoning tokens', () => {
  const visible = 10
  const gapMs = 30
  /** OpenAI o-series: 50 completion tokens of which 40 reasoning, only the 10 visible ones streamed. */
  const usage = {prompt_tokens: 20, completion_tokens: 50, total_tokens: 70, completion_tokens_details: {reasoning_tokens: 40}, prompt_tokens_details: {cached_tokens: 0}}
  const usageStep: Step = {sse: {id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [], usage}}

  test('ITL is over the visible tokens when the reasoning was never streamed; token counts keep all of them', async () => {
    const steps = openAiStream({firstTokenDelayMs: 100, tokens: visible, itlMs: gapMs, done: false})
    const record = await sendOne({body: [...steps, usageStep, {sse: '[DONE]'}]})
    expect(record.ok).toBe(true)
    expect(record.outputTokens).toBe(50)
    expect(record.reasoningTokens).toBe(40)
    expect(record.reasoningStreamed).toBe(false)
    // 9 gaps of 30 ms over 9 visible-token gaps ≈ 30 ms; dividing by 49 would give ≈ 5.5 ms.
    const itl = itlMs(record)!
    expect(itl).toBeGreaterThan(gapMs - 5)
    expect(itl).toBeLessThan(3 * gapMs)
    // Throughput still counts every generated token.
    expect(outputSpeedTps(record)).toBeCloseTo(50 / ((record.endedAtMs - record.sentAtMs) / 1000), 6)
  })

  test('when reasoning is streamed (vLLM reasoning_content) every output token counts for ITL', async () => {
    const steps: Step[] = [{sse: chatChunk({role: 'assistant', content: ''})}]
    for (let i = 0; i < 5; i++) steps.push({sse: chatChunk({reasoning_content: `r${i} `})}, {wait: 5})
    for (let i = 0; i < 5; i++) steps.push({sse: chatChunk({content: `c${i} `})}, {wait: 5})
    const streamedUsage = {prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, completion_tokens_details: {reasoning_tokens: 5}}
    steps.push({sse: chatChunk({}, {}, 'stop')}, {sse: {id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [], usage: streamedUsage}}, {sse: '[DONE]'})
    const record = await sendOne({body: steps})
    expect(record.ok).toBe(true)
    expect(record.reasoningTokens).toBe(5)
    expect(record.reasoningStreamed).toBe(true)
    const ttft = record.firstTokenAtMs! - record.sentAtMs
    expect(itlMs(record)).toBeCloseTo((record.endedAtMs - record.sentAtMs - ttft) / 9, 9)
  })
})

describe('compressed responses', () => {
  test('a gzip-encoded stream fails with a message naming content-encoding, and the request asked for identity', async () => {
    const sse = openAiStream({tokens: 3, usage: {prompt_tokens: 5, completion_tokens: 3}})
      .map((s) => ('sse' in s ? `data: ${typeof s.sse === 'string' ? s.sse : JSON.stringify(s.sse)}\n\n` : ''))
      .join('')
    const record = await sendOne({headers: {'content-encoding': 'gzip'}, body: [{raw: gzipSync(sse)}]})
    expect(server!.requests[0].headers['accept-encoding']).toBe('identity')
    expect(record.ok).toBe(false)
    expect(record.error!.category).toBe('other')
    expect(record.error!.message).toContain('content-encoding: gzip')
    expect(record.error!.message).toContain('compressed')
    // The slot was given back on a fresh connection: a second request on the same transport still completes.
    server!.respond({body: openAiStream({tokens: 2})})
    const next = await transport!.send(planned, {queuedAtMs: nowMs()})
    expect(next.ok).toBe(true)
  })

  test('`content-encoding: identity` is read as usual', async () => {
    const record = await sendOne({headers: {'content-encoding': 'identity'}, body: openAiStream({tokens: 2})})
    expect(record.ok).toBe(true)
    expect(record.contentChunks).toBe(2)
  })
})
