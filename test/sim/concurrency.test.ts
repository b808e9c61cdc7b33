import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {contentChunks, eventually, promSamples, send, ttft, words} from './client.js'

const stream = (content: string, maxTokens: number) => ({messages: [{role: 'user', content}], stream: true, max_tokens: maxTokens})
const L = '{model_name="dual-bench-sim"}'

describe('in-flight tracking', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({itlMs: 5, baseTtftMs: 5, prefillMsPerToken: 0.001})
  })
  afterAll(() => sim.close())
  beforeEach(() => sim.resetStats())

  it('maxInFlight equals the number of requests sent at once', async () => {
    const rs = await Promise.all(Array.from({length: 12}, (_, i) => send(sim.url, '/v1/chat/completions', stream(`parallel ${i}`, 10))))
    expect(rs.every((r) => r.data.at(-1) === '[DONE]')).toBe(true)
    expect(sim.stats()).toMatchObject({requests: 12, completions: 12, inFlight: 0, maxInFlight: 12})
  })

  it('maxInFlight shows a client-side concurrency limit exactly', async () => {
    let next = 0
    const worker = async () => {
      while (next < 15) {
        const i = next++
        await send(sim.url, '/v1/chat/completions', stream(`limited ${i}`, 5))
      }
    }
    await Promise.all([worker(), worker(), worker()])
    expect(sim.stats()).toMatchObject({requests: 15, completions: 15, maxInFlight: 3, inFlight: 0})
  })

  it('a client disconnect cancels the request: inFlight drops, nothing keeps running, partial tokens are counted', async () => {
    const before = promSamples((await send(sim.url, '/metrics')).body)
    const r = await send(sim.url, '/v1/chat/completions', stream('hang up on me', 2000), {onFirstToken: (abort) => abort()})
    expect(r.error).toBe('aborted by test')
    expect(await eventually(() => sim.stats().inFlight === 0)).toBe(true)
    const after = promSamples((await send(sim.url, '/metrics')).body)
    expect(after.get(`vllm:num_requests_running${L}`)).toBe(0)
    const generated = (after.get(`vllm:generation_tokens_total${L}`) as number) - (before.get(`vllm:generation_tokens_total${L}`) as number)
    expect(generated).toBeGreaterThanOrEqual(1)
    expect(generated).toBeLessThan(100)
    expect(sim.stats().completions).toBe(0)
    // The server is still healthy.
    expect((await send(sim.url, '/v1/chat/completions', stream('still there?', 2))).data.at(-1)).toBe('[DONE]')
  })
})

describe('prefill scheduling', () => {
  const coldTtfts = async (serialPrefill: boolean): Promise<number[]> => {
    // Each cold prompt costs ~1000 tokens × 0.2 ms = 200 ms of prefill.
    const sim = await startSimulator({serialPrefill, prefillMsPerToken: 0.2, baseTtftMs: 5, itlMs: 2})
    try {
      const rs = await Promise.all(Array.from({length: 4}, (_, i) => send(sim.url, '/v1/chat/completions', stream(words(1000, `p${i}x`), 2))))
      return rs.map(ttft).sort((a, b) => a - b)
    } finally {
      await sim.close()
    }
  }

  it('serial prefill makes cold TTFT grow with concurrency, like one GPU', async () => {
    const t = await coldTtfts(true)
    expect(t[0]).toBeGreaterThan(150)
    expect(t[3]).toBeGreaterThan(650) // the 4th waited for three prefills
  })

  it('parallel prefill does not', async () => {
    const t = await coldTtfts(false)
    expect(t[3]).toBeLessThan(500)
  })

  it('reports queued prefills as vllm:num_requests_waiting', async () => {
    const sim = await startSimulator({prefillMsPerToken: 0.5, baseTtftMs: 1, itlMs: 1})
    try {
      const pending = Array.from({length: 3}, (_, i) => send(sim.url, '/v1/chat/completions', stream(words(600, `q${i}x`), 2)))
      let waiting = 0
      await eventually(async () => {
        const m = promSamples((await send(sim.url, '/metrics')).body)
        waiting = m.get(`vllm:num_requests_waiting${L}`) as number
        return waiting === 2 && m.get(`vllm:num_requests_running${L}`) === 1
      })
      expect(waiting).toBe(2)
      await Promise.all(pending)
    } finally {
      await sim.close()
    }
  })
})

describe('scale and shutdown', () => {
  it('serves 1000 concurrent streams', async () => {
    // 40 tokens at 50 ms: each stream lasts 2 s, longer than opening 1000 connections takes, at a token rate
    // that the test's client and server can share one thread at.
    const sim = await startSimulator({itlMs: 50, baseTtftMs: 5, prefillMsPerToken: 0.001})
    try {
      const rs = await Promise.all(Array.from({length: 1000}, (_, i) => send(sim.url, '/v1/chat/completions', stream(`scale ${i % 10}`, 40))))
      expect(rs.filter((r) => r.data.at(-1) === '[DONE]' && contentChunks(r).length === 40)).toHaveLength(1000)
      expect(sim.stats()).toMatchObject({completions: 1000, maxInFlight: 1000, inFlight: 0})
    } finally {
      await sim.close()
    }
  }, 60_000)

  it('close() ends open streams and resolves', async () => {
    const sim = await startSimulator({itlMs: 5, baseTtftMs: 1})
    const pending = Promise.all(Array.from({length: 5}, () => send(sim.url, '/v1/chat/completions', stream('long one', 10_000))))
    await eventually(() => sim.stats().inFlight === 5)
    await sim.close()
    const rs = await pending
    expect(rs.every((r) => r.error !== undefined)).toBe(true)
    expect(sim.stats().inFlight).toBe(0)
    const again = await send(sim.url, '/v1/models')
    expect(again.error).toBeDefined() // no longer listening
  })
})
