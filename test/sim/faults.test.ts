import {startSimulator, type SimOptions, type Simulator} from '../../src/sim/index.js'
import {contentChunks, eventually, send, ttft} from './client.js'

const body = {messages: [{role: 'user', content: 'fault test prompt'}], stream: true, max_tokens: 20, stream_options: {include_usage: true}}
const fast: SimOptions = {itlMs: 2, baseTtftMs: 1, prefillMsPerToken: 0.001}

async function withSim(opts: SimOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({...fast, ...opts})
  try {
    await fn(sim)
  } finally {
    await sim.close()
  }
}

const noInjections = {fail: 0, drop: 0, garbage: 0, slow: 0, errorEvent: 0}

describe('fault injection at rate 1', () => {
  it('fail: HTTP 500 with an OpenAI error body', () => withSim({failRate: 1}, async (sim) => {
    for (let i = 0; i < 3; i++) {
      const r = await send(sim.url, '/v1/chat/completions', body)
      expect(r.status).toBe(500)
      expect(JSON.parse(r.body).error).toMatchObject({message: 'simulated failure', type: 'server_error'})
    }
    expect(sim.stats().injected).toEqual({...noInjections, fail: 3})
    expect(sim.stats().completions).toBe(0)
  }))

  it('drop: the connection dies after a few tokens, without [DONE]', () => withSim({dropRate: 1}, async (sim) => {
    for (let i = 0; i < 3; i++) {
      const r = await send(sim.url, '/v1/chat/completions', body)
      expect(r.status).toBe(200)
      expect(r.error).toBeDefined()
      expect(r.data).not.toContain('[DONE]')
      expect(contentChunks(r)).toHaveLength(3)
    }
    expect(sim.stats().injected).toEqual({...noInjections, drop: 3})
    expect(await eventually(() => sim.stats().inFlight === 0)).toBe(true)
  }))

  it('garbage: one data line of invalid JSON, then the stream ends without [DONE]', () => withSim({garbageRate: 1}, async (sim) => {
    const r = await send(sim.url, '/v1/chat/completions', body)
    expect(r.error).toBeUndefined()
    expect(r.data).not.toContain('[DONE]')
    expect(r.json.at(-1)).toBeUndefined() // the last payload did not parse
    expect(() => JSON.parse(r.data.at(-1) as string)).toThrow()
    expect(r.json.slice(0, -1).every((j) => j !== undefined)).toBe(true)
    expect(sim.stats().injected).toEqual({...noInjections, garbage: 1})
  }))

  it('errorEvent: a data: {"error": ...} event mid-stream, then [DONE]', () => withSim({errorEventRate: 1}, async (sim) => {
    const r = await send(sim.url, '/v1/chat/completions', body)
    const errorAt = r.json.findIndex((j) => j?.error)
    expect(r.json[errorAt].error.message).toBe('simulated error event')
    expect(contentChunks(r)).toHaveLength(3)
    expect(r.data.slice(errorAt + 1)).toEqual(['[DONE]'])
    expect(sim.stats().injected).toEqual({...noInjections, errorEvent: 1})
    expect(sim.stats().completions).toBe(0)
  }))

  it('slow: waits slowMs before the first token, then completes normally', () => withSim({slowRate: 1, slowMs: 300}, async (sim) => {
    const r = await send(sim.url, '/v1/chat/completions', body)
    expect(ttft(r)).toBeGreaterThanOrEqual(290)
    expect(r.data.at(-1)).toBe('[DONE]')
    expect(contentChunks(r)).toHaveLength(20)
    expect(sim.stats().injected).toEqual({...noInjections, slow: 1})
    expect(sim.stats().completions).toBe(1)
  }))

  it('non-streaming requests get fail/drop/garbage too', async () => {
    const plain = {messages: [{role: 'user', content: 'x'}], max_tokens: 3}
    await withSim({dropRate: 1}, async (sim) => {
      const r = await send(sim.url, '/v1/chat/completions', plain)
      expect(r.error).toBeDefined()
      expect(sim.stats().injected.drop).toBe(1)
    })
    await withSim({garbageRate: 1}, async (sim) => {
      const r = await send(sim.url, '/v1/chat/completions', plain)
      expect(r.status).toBe(200)
      expect(() => JSON.parse(r.body)).toThrow()
      expect(sim.stats().injected.garbage).toBe(1)
    })
  })
})

describe('seeded faults', () => {
  const outcomes = async (opts: SimOptions): Promise<{seq: string[]; injected: unknown}> => {
    const seq: string[] = []
    let injected: unknown
    await withSim(opts, async (sim) => {
      for (let i = 0; i < 24; i++) {
        const r = await send(sim.url, '/v1/chat/completions', {...body, max_tokens: 6})
        seq.push(r.status === 500 ? 'fail' : r.error ? 'drop' : r.json.some((j) => j?.error) ? 'errorEvent' : r.data.includes('[DONE]') ? 'ok' : 'garbage')
      }
      injected = sim.stats().injected
    })
    return {seq, injected}
  }
  const mixed: SimOptions = {failRate: 0.2, dropRate: 0.2, garbageRate: 0.2, errorEventRate: 0.2}

  it('the same seed gives the same faults in the same order, and the client sees exactly what the server counts', async () => {
    const a = await outcomes({...mixed, seed: 7})
    const b = await outcomes({...mixed, seed: 7})
    expect(b).toEqual(a)
    const count = (k: string) => a.seq.filter((s) => s === k).length
    expect(a.injected).toEqual({fail: count('fail'), drop: count('drop'), garbage: count('garbage'), slow: 0, errorEvent: count('errorEvent')})
    expect(new Set(a.seq).size).toBeGreaterThan(2)
  })

  it('another seed gives another sequence', async () => {
    const a = await outcomes({...mixed, seed: 7})
    const c = await outcomes({...mixed, seed: 8})
    expect(c.seq).not.toEqual(a.seq)
  })
})
