import {createMeasuredTransport} from '../../src/http/measured-transport.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import {nowMs} from '../../src/record/clock.js'
import type {RequestRecord} from '../../src/record/record.js'
import {startSimulator, type SimOptions, type Simulator} from '../../src/sim/index.js'
import {eventually, promSamples, send, words} from '../sim/client.js'

/** Splits an SSE body into {event, data} pairs (the simulator writes `event:` then `data:` per event). */
function events(body: string): {event?: string; data: any}[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event: string | undefined
      let data = ''
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data += line.slice(6)
      }
      return {event, data: JSON.parse(data)}
    })
}

const input = (text: string) => [{role: 'user', content: text}]

describe('simulator POST /v1/responses', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({itlMs: 1, baseTtftMs: 1, prefillMsPerToken: 0.5, model: 'sim-model'})
  })
  afterAll(() => sim.close())

  test('streams real Responses events: event lines match the data type, numbered in order, no [DONE]', async () => {
    const r = await send(sim.url, '/v1/responses', {model: 'sim-model', input: input('Hello there, simulator.'), stream: true, max_output_tokens: 5})
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(r.body).not.toContain('[DONE]')
    const evs = events(r.body)
    for (const e of evs) expect(e.event).toBe(e.data.type)
    expect(evs.map((e) => e.data.sequence_number)).toEqual(evs.map((_, i) => i))
    const types = evs.map((e) => e.event)
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(5).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete', // max_output_tokens reached, as the real API reports it
    ])
    const created = evs[0].data.response
    expect(created).toMatchObject({id: expect.stringMatching(/^resp_/), object: 'response', status: 'in_progress', model: 'sim-model', output: [], usage: null})
    const deltas = evs.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data)
    const itemId = evs[2].data.item.id
    for (const d of deltas) expect(d).toEqual({type: 'response.output_text.delta', sequence_number: expect.any(Number), item_id: itemId, output_index: 0, content_index: 0, delta: expect.any(String), logprobs: []})
    const text = deltas.map((d) => d.delta).join('')
    expect(evs.find((e) => e.event === 'response.output_text.done')!.data.text).toBe(text)
    const final = evs.at(-1)!.data.response
    expect(final).toMatchObject({id: created.id, status: 'incomplete', incomplete_details: {reason: 'max_output_tokens'}, error: null})
    expect(final.output).toEqual([{id: itemId, type: 'message', status: 'incomplete', role: 'assistant', content: [{type: 'output_text', text, annotations: [], logprobs: []}]}])
    expect(final.usage).toEqual({input_tokens: expect.any(Number), input_tokens_details: {cached_tokens: expect.any(Number)}, output_tokens: 5, output_tokens_details: {reasoning_tokens: 0}, total_tokens: final.usage.input_tokens + 5})
  })

  test('without max_output_tokens it ends with response.completed after the default length', async () => {
    const small = await startSimulator({itlMs: 0, baseTtftMs: 0, defaultOutputTokens: 3})
    try {
      const r = await send(small.url, '/v1/responses', {input: 'just a string input', stream: true})
      const evs = events(r.body)
      expect(evs.at(-1)!.event).toBe('response.completed')
      expect(evs.at(-1)!.data.response).toMatchObject({status: 'completed', incomplete_details: null, usage: {output_tokens: 3}})
    } finally {
      await small.close()
    }
  })

  test('a repeated prompt reports cached input tokens and is faster, sharing the chat prefix cache model', async () => {
    const body = {model: 'sim-model', input: [{role: 'system', content: 'Be brief.'}, {role: 'user', content: words(400, 'resp')}], stream: true, max_output_tokens: 2}
    const cold = await send(sim.url, '/v1/responses', body)
    const warm = await send(sim.url, '/v1/responses', body)
    const usage = (r: typeof cold) => events(r.body).at(-1)!.data.response.usage
    expect(usage(cold).input_tokens_details.cached_tokens).toBe(0)
    expect(usage(warm).input_tokens).toBe(usage(cold).input_tokens)
    // Whole 16-token blocks are reused; the last partial block is recomputed, as in vLLM.
    expect(usage(warm).input_tokens_details.cached_tokens).toBeGreaterThan(usage(cold).input_tokens * 0.9)
    // ~400 uncached tokens × 0.5 ms of prefill is gone on the warm request.
    expect((warm.endedAt - warm.sentAt) + 100).toBeLessThan(cold.endedAt - cold.sentAt)
    // The same messages on /v1/chat/completions render the same prompt, so they hit the same blocks.
    const chat = await send(sim.url, '/v1/chat/completions', {model: 'sim-model', messages: body.input, stream: false, max_tokens: 2})
    expect(JSON.parse(chat.body).usage.prompt_tokens_details.cached_tokens).toBe(usage(warm).input_tokens_details.cached_tokens)
  })

  test('non-streaming returns one response object with the text and usage', async () => {
    const r = await send(sim.url, '/v1/responses', {model: 'sim-model', input: input('non streaming please'), max_output_tokens: 4})
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    const body = JSON.parse(r.body)
    expect(body).toMatchObject({object: 'response', status: 'incomplete', model: 'sim-model', usage: {output_tokens: 4}})
    expect(body.output[0].content[0].text.trim().split(' ')).toHaveLength(4)
  })

  test('instructions and content parts are accepted; bad bodies get OpenAI-style 400s; an unknown model 404', async () => {
    const ok = await send(sim.url, '/v1/responses', {instructions: 'Be terse.', input: [{type: 'message', role: 'user', content: [{type: 'input_text', text: 'hi'}]}], max_output_tokens: 1})
    expect(ok.status).toBe(200)
    const missing = await send(sim.url, '/v1/responses', {model: 'sim-model'})
    expect(missing.status).toBe(400)
    expect(JSON.parse(missing.body).error).toMatchObject({message: expect.stringContaining('input'), param: 'input'})
    const badMax = await send(sim.url, '/v1/responses', {input: 'x', max_output_tokens: 0})
    expect(badMax.status).toBe(400)
    const notJson = await send(sim.url, '/v1/responses', undefined, {raw: '{nope', method: 'POST'})
    expect(notJson.status).toBe(400)
    const unknown = await send(sim.url, '/v1/responses', {model: 'other', input: 'x'})
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body).error.message).toContain('other')
    const get = await send(sim.url, '/v1/responses')
    expect(get.status).toBe(405)
  })

  test('responses count in the Prometheus metrics like chat requests', async () => {
    const before = promSamples((await send(sim.url, '/metrics')).body)
    await send(sim.url, '/v1/responses', {input: 'count me', stream: true, max_output_tokens: 3})
    const after = promSamples((await send(sim.url, '/metrics')).body)
    const key = [...after.keys()].find((k) => k.startsWith('vllm:generation_tokens_total'))!
    expect(after.get(key)! - (before.get(key) ?? 0)).toBe(3)
  })
})

/** Starts a fast simulator with `opts`, runs `fn`, and closes it whatever happens. */
async function withSim(opts: SimOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({model: 'sim-model', itlMs: 2, baseTtftMs: 1, prefillMsPerToken: 0.001, ...opts})
  try {
    await fn(sim)
  } finally {
    await sim.close()
  }
}

describe('/v1/responses shares the chat lifecycle: /sim/stats counting', () => {
  test('requests, completions, inFlight and maxInFlight count Responses requests, and GET /sim/stats serves them', () => withSim({itlMs: 5}, async (sim) => {
    // Four overlapping streams of ~20 × 5 ms each, then one invalid body after they finished.
    const streams = await Promise.all(Array.from({length: 4}, (_, i) => send(sim.url, '/v1/responses', {input: `stats ${i}`, stream: true, max_output_tokens: 20})))
    for (const r of streams) expect(events(r.body).at(-1)!.event).toBe('response.incomplete')
    const bad = await send(sim.url, '/v1/responses', {model: 'sim-model'})
    expect(bad.status).toBe(400)
    expect(await eventually(() => sim.stats().inFlight === 0)).toBe(true)
    const served = JSON.parse((await send(sim.url, '/sim/stats')).body)
    expect(served).toMatchObject({requests: 5, completions: 4, inFlight: 0, maxInFlight: 4})
    expect(sim.stats()).toMatchObject({requests: 5, completions: 4, maxInFlight: 4})
  }))

  test('a client that walks away mid-stream leaves inFlight at 0', () => withSim({itlMs: 20}, async (sim) => {
    const r = await send(sim.url, '/v1/responses', {input: 'leave early', stream: true, max_output_tokens: 200}, {onFirstToken: (abort) => abort()})
    expect(r.error).toBe('aborted by test')
    expect(sim.stats()).toMatchObject({requests: 1, maxInFlight: 1})
    expect(await eventually(() => sim.stats().inFlight === 0)).toBe(true)
    expect(sim.stats().completions).toBe(0)
  }))
})

describe('/v1/responses fault injection, as the measured transport (api responses) sees it', () => {
  const noInjections = {fail: 0, drop: 0, garbage: 0, slow: 0, errorEvent: 0}

  /** Sends one streaming Responses request through the product's measured path and returns its record. */
  async function measure(sim: Simulator, maxTokens = 10): Promise<RequestRecord> {
    const transport = createMeasuredTransport({endpoint: new URL(`${sim.url}/v1/responses`), timeoutMs: 10_000, maxSockets: 1, api: 'responses', stream: true})
    try {
      const sample = {id: 's', messages: [{role: 'user' as const, content: 'fault test prompt'}], maxTokens}
      const body = buildRequestBody(sample, {api: 'responses', model: 'sim-model', stream: true, includeUsage: true, salt: '[faults]'})
      return await transport.send({level: 1, round: 1, index: 0, sampleId: 's', promptPreview: 'p', body}, {queuedAtMs: nowMs()})
    } finally {
      await transport.close()
    }
  }

  test.each([
    ['fail', {failRate: 1}, {category: 'http_5xx', httpStatus: 500, message: expect.stringContaining('simulated failure')}, 0],
    ['drop', {dropRate: 1}, {category: 'stream_cut'}, 3],
    ['garbage', {garbageRate: 1}, {category: 'malformed_sse'}, 3],
    ['errorEvent', {errorEventRate: 1}, {category: 'server_error_event', message: expect.stringContaining('simulated error event')}, 3],
  ] as const)('%s: the request fails with the category the chat path gets, after the same tokens', (kind, rates, error, chunks) => withSim(rates, async (sim) => {
    const record = await measure(sim)
    expect(record.ok).toBe(false)
    expect(record.error).toMatchObject(error)
    expect(record.contentChunks ?? 0).toBe(chunks)
    expect(sim.stats()).toMatchObject({requests: 1, completions: 0, injected: {...noInjections, [kind]: 1}})
    expect(await eventually(() => sim.stats().inFlight === 0)).toBe(true)
  }))

  test('slow: the first delta waits slowMs, then the response completes whole', () => withSim({slowRate: 1, slowMs: 300}, async (sim) => {
    const record = await measure(sim, 5)
    expect(record).toMatchObject({ok: true, outputTokens: 5, contentChunks: 5, finishReason: 'length'})
    expect(record.firstTokenAtMs! - record.sentAtMs).toBeGreaterThanOrEqual(290)
    expect(sim.stats()).toMatchObject({completions: 1, injected: {...noInjections, slow: 1}})
  }))

  test('garbage and errorEvent frames are Responses-shaped: a cut-short delta; an `error` event, and no [DONE]', async () => {
    const body = {input: 'shapes', stream: true, max_output_tokens: 10}
    await withSim({garbageRate: 1}, async (sim) => {
      const r = await send(sim.url, '/v1/responses', body)
      const last = r.body.trimEnd().split('\n\n').at(-1)!
      expect(last).toMatch(/^event: response\.output_text\.delta\ndata: /)
      expect(() => JSON.parse(last.split('\ndata: ')[1])).toThrow()
    })
    await withSim({errorEventRate: 1}, async (sim) => {
      const r = await send(sim.url, '/v1/responses', body)
      const evs = events(r.body)
      expect(evs.map((e) => e.event).filter((t) => t === 'response.output_text.delta')).toHaveLength(3)
      expect(evs.at(-1)).toEqual({event: 'error', data: {type: 'error', sequence_number: evs.length - 1, code: 'server_error', message: 'simulated error event', param: null}})
      expect(r.body).not.toContain('[DONE]')
    })
  })

  test('non-streaming Responses requests get drop and garbage too', async () => {
    const plain = {input: 'x', max_output_tokens: 3}
    await withSim({dropRate: 1}, async (sim) => {
      const r = await send(sim.url, '/v1/responses', plain)
      expect(r.error).toBeDefined()
      expect(sim.stats().injected.drop).toBe(1)
    })
    await withSim({garbageRate: 1}, async (sim) => {
      const r = await send(sim.url, '/v1/responses', plain)
      expect(r.status).toBe(200)
      expect(() => JSON.parse(r.body)).toThrow()
      expect(sim.stats().injected.garbage).toBe(1)
    })
  })

  test('seeded faults: Responses requests draw from the same sequence as chat requests', async () => {
    const rates: SimOptions = {failRate: 0.3, dropRate: 0.3, seed: 11}
    const outcome = (r: Awaited<ReturnType<typeof send>>) => (r.status === 500 ? 'fail' : r.error ? 'drop' : 'ok')
    const run = async (path: string, body: unknown): Promise<string[]> => {
      const seen: string[] = []
      await withSim(rates, async (sim) => {
        for (let i = 0; i < 16; i++) seen.push(outcome(await send(sim.url, path, body)))
      })
      return seen
    }
    const chat = await run('/v1/chat/completions', {messages: [{role: 'user', content: 'x'}], stream: true, max_tokens: 8})
    const responses = await run('/v1/responses', {input: 'x', stream: true, max_output_tokens: 8})
    expect(responses).toEqual(chat)
    expect(new Set(chat)).toEqual(new Set(['fail', 'drop', 'ok']))
  })
})
