/**
 * The Responses API end to end: buildRequestBody → the measured transport → the simulator's
 * /v1/responses → the Responses reducer (the transport picks the reducer by `api`).
 */
import {runCheck} from '../../src/check/run-check.js'
import {createMeasuredTransport} from '../../src/http/measured-transport.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import {nowMs} from '../../src/record/clock.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'

describe('Responses API through the measured transport', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({model: 'sim-model', itlMs: 2, baseTtftMs: 1, prefillMsPerToken: 0.2})
  })
  afterAll(() => sim.close())

  test('dual-bench check --api responses streams, with TTFT, usage tokens and the reply', async () => {
    const r = await runCheck({endpoint: new URL(`${sim.url}/v1/responses`), api: 'responses', timeoutMs: 10_000})
    expect(r.ok).toBe(true)
    expect(r.request).toMatchObject({ok: true, streamed: true, outputTokens: 32, outputTokensSource: 'usage', cachedTokens: 0, finishReason: 'length'})
    expect(r.request!.ttftMs!).toBeGreaterThan(0)
    expect(r.request!.outputPreview!.trim().split(' ')).toHaveLength(32)
    expect(r.diagnosis.at(-1)!.level).toBe('ok')
  })

  test('round 2 of the same bytes reports cached tokens from usage.input_tokens_details', async () => {
    const transport = createMeasuredTransport({endpoint: new URL(`${sim.url}/v1/responses`), timeoutMs: 10_000, maxSockets: 1, api: 'responses', stream: true})
    try {
      const sample = {id: 's', messages: [{role: 'user' as const, content: Array.from({length: 300}, (_, i) => `word${i}`).join(' ')}], maxTokens: 4}
      const body = buildRequestBody(sample, {api: 'responses', model: 'sim-model', stream: true, includeUsage: true, salt: '[run e2e]'})
      const send = (round: number) => transport.send({level: 1, round, index: 0, sampleId: 's', promptPreview: 'p', body}, {queuedAtMs: nowMs()})
      const cold = await send(1)
      const warm = await send(2)
      expect(cold).toMatchObject({ok: true, outputTokens: 4, cachedTokens: 0, contentChunks: 4})
      expect(warm).toMatchObject({ok: true, outputTokens: 4, cachedTokensSource: 'usage.input_tokens_details.cached_tokens'})
      expect(warm.cachedTokens!).toBeGreaterThan(warm.inputTokens! * 0.9)
      expect(warm.firstTokenAtMs! - warm.sentAtMs).toBeLessThan(cold.firstTokenAtMs! - cold.sentAtMs)
    } finally {
      await transport.close()
    }
  })
})
