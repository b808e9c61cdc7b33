import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {promSamples, send, words} from '../sim/client.js'

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
