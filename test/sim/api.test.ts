import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {contentChunks, send, streamedText} from './client.js'

const chat = (content: string, extra: Record<string, unknown> = {}) => ({messages: [{role: 'user', content}], ...extra})

describe('simulator API shapes', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({itlMs: 1, baseTtftMs: 1, prefillMsPerToken: 0.001, model: 'sim-model'})
  })
  afterAll(() => sim.close())

  it('lists the model like OpenAI', async () => {
    const r = await send(sim.url, '/v1/models')
    expect(r.status).toBe(200)
    const body = JSON.parse(r.body)
    expect(body.object).toBe('list')
    expect(body.data).toEqual([expect.objectContaining({id: 'sim-model', object: 'model', owned_by: expect.any(String)})])
  })

  it('streams chat chunks shaped like vLLM: role first, content, finish_reason, usage with choices [], [DONE]', async () => {
    const before = Date.now()
    const r = await send(sim.url, '/v1/chat/completions', chat('Hello there, simulator.', {stream: true, max_tokens: 5, stream_options: {include_usage: true}}))
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(r.data.at(-1)).toBe('[DONE]')
    expect(r.body.endsWith('data: [DONE]\n\n')).toBe(true)
    const [first, ...rest] = r.json.slice(0, -1)
    expect(first).toEqual({id: expect.stringMatching(/^chatcmpl-/), object: 'chat.completion.chunk', created: expect.any(Number), model: 'sim-model',
      choices: [{index: 0, delta: {role: 'assistant', content: ''}, logprobs: null, finish_reason: null}]})
    const content = contentChunks(r)
    expect(content).toHaveLength(5)
    expect(content.slice(0, 4).every((c) => c.choices[0].finish_reason === null)).toBe(true)
    expect(content[4].choices[0].finish_reason).toBe('length')
    expect(new Set(r.json.slice(0, -1).map((j) => j.id)).size).toBe(1)
    const usageChunk = rest.at(-1)
    expect(usageChunk.choices).toEqual([])
    expect(usageChunk.usage).toEqual({prompt_tokens: expect.any(Number), completion_tokens: 5, total_tokens: usageChunk.usage.prompt_tokens + 5, prompt_tokens_details: {cached_tokens: expect.any(Number)}})
    const t = usageChunk.sim_timing
    expect(t.first_token_write_ms).toBeGreaterThanOrEqual(before - 1)
    expect(t.last_token_write_ms).toBeGreaterThanOrEqual(t.first_token_write_ms)
    // The stamp is taken just before the write; the client sees the chunk after it.
    expect(r.firstTokenEpochMs as number).toBeGreaterThanOrEqual(t.first_token_write_ms)
    expect(streamedText(r).trim().split(' ')).toHaveLength(5)
  })

  it('omits usage when include_usage is not asked for, and puts sim_timing on the finishing chunk', async () => {
    const r = await send(sim.url, '/v1/chat/completions', chat('no usage please', {stream: true, max_tokens: 3}))
    const last = r.json.at(-2)
    expect(r.json.some((j) => j?.usage)).toBe(false)
    expect(last.choices[0].finish_reason).toBe('length')
    expect(last.sim_timing).toEqual({first_token_write_ms: expect.any(Number), last_token_write_ms: expect.any(Number)})
  })

  it('streams completions with choices[].text and object text_completion', async () => {
    const r = await send(sim.url, '/v1/completions', {prompt: 'Once upon a time', stream: true, max_tokens: 4, stream_options: {include_usage: true}})
    expect(r.status).toBe(200)
    const content = contentChunks(r)
    expect(content).toHaveLength(4)
    expect(content[0]).toEqual({id: expect.stringMatching(/^cmpl-/), object: 'text_completion', created: expect.any(Number), model: 'sim-model',
      choices: [{index: 0, text: expect.any(String), logprobs: null, finish_reason: null, stop_reason: null}]})
    expect(r.json.at(-2).usage.completion_tokens).toBe(4)
    expect(r.data.at(-1)).toBe('[DONE]')
  })

  it('answers non-streaming chat and completions with one JSON body and usage', async () => {
    const c = await send(sim.url, '/v1/chat/completions', chat('plain json', {max_completion_tokens: 6}))
    expect(c.status).toBe(200)
    const body = JSON.parse(c.body)
    expect(body.object).toBe('chat.completion')
    expect(body.choices[0]).toEqual({index: 0, message: {role: 'assistant', content: expect.any(String)}, logprobs: null, finish_reason: 'length'})
    expect(body.choices[0].message.content.trim().split(' ')).toHaveLength(6)
    expect(body.usage.completion_tokens).toBe(6)
    const p = await send(sim.url, '/v1/completions', {prompt: 'plain json', stream: false})
    const pb = JSON.parse(p.body)
    expect(pb.object).toBe('text_completion')
    expect(pb.choices[0].finish_reason).toBe('stop')
    expect(pb.usage.completion_tokens).toBe(48)
  })

  it('is deterministic: the same prompt gives the same text', async () => {
    const a = await send(sim.url, '/v1/chat/completions', chat('same prompt', {stream: true, max_tokens: 8}))
    const b = await send(sim.url, '/v1/chat/completions', chat('same prompt', {stream: true, max_tokens: 8}))
    expect(streamedText(a)).toBe(streamedText(b))
  })

  it.each([
    ['bad JSON', '/v1/chat/completions', '{"messages": [', 400, /JSON/],
    ['missing messages', '/v1/chat/completions', '{"model": "sim-model"}', 400, /messages/],
    ['empty messages', '/v1/chat/completions', '{"messages": []}', 400, /messages/],
    ['missing prompt', '/v1/completions', '{"max_tokens": 3}', 400, /prompt/],
    ['max_tokens 0', '/v1/chat/completions', '{"messages": [{"role":"user","content":"x"}], "max_tokens": 0}', 400, /max_tokens/],
    ['a JSON array body', '/v1/completions', '[1,2]', 400, /object/],
    ['unknown model', '/v1/chat/completions', '{"model": "gpt-9", "messages": [{"role":"user","content":"x"}]}', 404, /gpt-9/],
  ])('rejects %s with an OpenAI-style JSON error', async (_name, path, raw, status, message) => {
    const r = await send(sim.url, path, undefined, {method: 'POST', raw})
    expect(r.status).toBe(status)
    expect(r.headers['content-type']).toBe('application/json')
    expect(JSON.parse(r.body).error.message).toMatch(message)
  })

  it('answers unknown paths 404 and wrong methods 405', async () => {
    expect((await send(sim.url, '/v1/nothing')).status).toBe(404)
    const r = await send(sim.url, '/v1/chat/completions')
    expect(r.status).toBe(405)
    expect(r.headers.allow).toBe('POST')
    expect((await send(sim.url, '/health')).status).toBe(200)
  })

  it('counts requests and completions in /sim/stats, and resetStats zeroes them', async () => {
    sim.resetStats()
    await send(sim.url, '/v1/chat/completions', chat('count me', {max_tokens: 2}))
    await send(sim.url, '/v1/chat/completions', undefined, {method: 'POST', raw: 'nope'})
    const stats = JSON.parse((await send(sim.url, '/sim/stats')).body)
    expect(stats).toEqual(sim.stats())
    expect(stats).toMatchObject({requests: 2, completions: 1, inFlight: 0, maxInFlight: 1})
    sim.resetStats()
    expect(sim.stats().requests).toBe(0)
  })
})

describe('usage styles and strictness', () => {
  it('rejectStreamOptions answers 400 naming stream_options, and serves the same request without it', async () => {
    const sim = await startSimulator({rejectStreamOptions: true, itlMs: 1, baseTtftMs: 1})
    try {
      const bad = await send(sim.url, '/v1/chat/completions', chat('x', {stream: true, stream_options: {include_usage: true}}))
      expect(bad.status).toBe(400)
      expect(JSON.parse(bad.body).error.message).toMatch(/stream_options/)
      const ok = await send(sim.url, '/v1/chat/completions', chat('x', {stream: true, max_tokens: 2}))
      expect(ok.status).toBe(200)
      expect(ok.data.at(-1)).toBe('[DONE]')
    } finally {
      await sim.close()
    }
  })

  it('llamacpp style: always usage + timings on the chunk that carries finish_reason, cache_n on a repeat', async () => {
    const sim = await startSimulator({usageStyle: 'llamacpp', itlMs: 1, baseTtftMs: 1, prefillMsPerToken: 0.001})
    try {
      const prompt = 'the same long prompt '.repeat(40)
      const first = await send(sim.url, '/v1/chat/completions', chat(prompt, {stream: true, max_tokens: 3}))
      const second = await send(sim.url, '/v1/chat/completions', chat(prompt, {stream: true, max_tokens: 3}))
      for (const r of [first, second]) {
        expect(r.json.some((j) => Array.isArray(j?.choices) && j.choices.length === 0)).toBe(false)
        const fin = r.json.filter((j) => j?.choices?.[0]?.finish_reason)
        expect(fin).toHaveLength(1)
        expect(fin[0].choices[0].delta).toEqual({})
        expect(fin[0].usage).toEqual({prompt_tokens: expect.any(Number), completion_tokens: 3, total_tokens: expect.any(Number)})
        expect(fin[0].timings.cache_n + fin[0].timings.prompt_n).toBe(fin[0].usage.prompt_tokens)
        expect(fin[0].timings.predicted_n).toBe(3)
        expect(contentChunks(r)).toHaveLength(3)
      }
      const t1 = first.json.find((j) => j?.timings).timings
      const t2 = second.json.find((j) => j?.timings).timings
      expect(t1.cache_n).toBe(0)
      expect(t2.cache_n).toBeGreaterThan(t2.prompt_n)
    } finally {
      await sim.close()
    }
  })

  it('none style: no usage anywhere, even when asked', async () => {
    const sim = await startSimulator({usageStyle: 'none', itlMs: 1, baseTtftMs: 1})
    try {
      const s = await send(sim.url, '/v1/chat/completions', chat('x', {stream: true, max_tokens: 2, stream_options: {include_usage: true}}))
      expect(s.json.some((j) => j?.usage)).toBe(false)
      expect(s.data.at(-1)).toBe('[DONE]')
      const n = await send(sim.url, '/v1/completions', {prompt: 'x', max_tokens: 2})
      expect(JSON.parse(n.body).usage).toBeUndefined()
    } finally {
      await sim.close()
    }
  })

  it('shape variety: each response adds one more null key from servers\' set, at chunk, choice and usage level, never in token frames', async () => {
    const sim = await startSimulator({shapeVariety: true, itlMs: 1, baseTtftMs: 1})
    try {
      const extraKeys = new Set<string>()
      for (let n = 0; n < 3; n++) {
        const r = await send(sim.url, '/v1/chat/completions', chat('x', {stream: true, max_tokens: 3, stream_options: {include_usage: true}}))
        const frames = r.json.slice(0, -1)
        const usage = frames.find((j) => j?.usage)
        const extra = Object.keys(usage).filter((k) => !['id', 'object', 'created', 'model', 'choices', 'usage', 'sim_timing'].includes(k))
        expect(extra).toHaveLength(1)
        extraKeys.add(extra[0]!)
        expect(usage[extra[0]!]).toBeNull()
        expect(usage.usage).toHaveProperty(extra[0]!, null)
        const last = frames.find((j) => j?.choices?.[0]?.finish_reason)
        expect(last.choices[0]).toHaveProperty(extra[0]!, null)
        // Token frames keep vLLM's exact bytes: the client reads those in place.
        for (const token of contentChunks(r).slice(0, -1)) expect(Object.keys(token)).toEqual(['id', 'object', 'created', 'model', 'choices'])
      }
      expect(extraKeys.size).toBe(3)
    } finally {
      await sim.close()
    }
  })
})
