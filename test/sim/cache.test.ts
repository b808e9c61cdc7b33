import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {promSamples, send, ttft, words, type Seen} from './client.js'

const streamChat = (sim: Simulator, content: string, maxTokens = 4) =>
  send(sim.url, '/v1/chat/completions', {messages: [{role: 'user', content}], stream: true, max_tokens: maxTokens, stream_options: {include_usage: true}})

const usage = (r: Seen) => r.json.find((j) => j?.usage)?.usage

describe('prefix cache', () => {
  let sim: Simulator
  beforeAll(async () => {
    // 0.2 ms/token makes a 2.5k-token cold prefill ~500 ms against ~10 ms warm: a gap no CI jitter closes.
    sim = await startSimulator({prefillMsPerToken: 0.2, baseTtftMs: 10, itlMs: 2})
  })
  afterAll(() => sim.close())

  it('a repeated prompt reports nearly all tokens cached and a much lower TTFT', async () => {
    const prompt = words(2500, 'repeat')
    const cold = await streamChat(sim, prompt)
    const warm = await streamChat(sim, prompt)
    expect(usage(cold).prompt_tokens_details.cached_tokens).toBe(0)
    const u = usage(warm)
    expect(u.prompt_tokens).toBe(usage(cold).prompt_tokens)
    // Full blocks only, and never the last token: at most one block short of the prompt.
    expect(u.prompt_tokens_details.cached_tokens).toBeGreaterThan(u.prompt_tokens - 16 - 1)
    expect(u.prompt_tokens_details.cached_tokens % 16).toBe(0)
    expect(ttft(cold)).toBeGreaterThan(400)
    expect(ttft(warm)).toBeLessThan(ttft(cold) / 4)
  })

  it('a different prefix is not cached even when the rest of the prompt is equal', async () => {
    const body = words(800, 'tail')
    await streamChat(sim, 'alpha ' + body)
    const other = await streamChat(sim, 'beta ' + body)
    expect(usage(other).prompt_tokens_details.cached_tokens).toBe(0)
  })

  it('a shared leading part is cached up to the last full block before the first difference', async () => {
    const shared = words(500, 'shared')
    await streamChat(sim, shared + ' first ending')
    const r = await streamChat(sim, shared + ' second ending')
    const cached = usage(r).prompt_tokens_details.cached_tokens
    // Chat markup adds a few tokens before the text; the cached part covers the shared words in whole blocks.
    expect(cached).toBeGreaterThanOrEqual(496)
    expect(cached).toBeLessThan(usage(r).prompt_tokens)
  })

  it('reset endpoints (vLLM and SGLang) clear the cache and are counted', async () => {
    const prompt = words(300, 'reset')
    const before = sim.stats().cacheResets
    await streamChat(sim, prompt)
    expect(usage(await streamChat(sim, prompt)).prompt_tokens_details.cached_tokens).toBeGreaterThan(0)
    expect((await send(sim.url, '/reset_prefix_cache', undefined, {method: 'POST'})).status).toBe(200)
    expect(usage(await streamChat(sim, prompt)).prompt_tokens_details.cached_tokens).toBe(0)
    expect(usage(await streamChat(sim, prompt)).prompt_tokens_details.cached_tokens).toBeGreaterThan(0)
    expect((await send(sim.url, '/flush_cache', undefined, {method: 'POST'})).status).toBe(200)
    expect(usage(await streamChat(sim, prompt)).prompt_tokens_details.cached_tokens).toBe(0)
    expect(sim.stats().cacheResets).toBe(before + 2)
  })
})

describe('LRU eviction', () => {
  const complete = (sim: Simulator, prompt: string) =>
    send(sim.url, '/v1/completions', {prompt, stream: true, max_tokens: 2, stream_options: {include_usage: true}}).then(usage)
  const cached = (u: any): number => u.prompt_tokens_details.cached_tokens

  it('a tiny cache evicts the older prompt, keeps the recent one', async () => {
    // 4-token blocks, room for 10. Completions prompts (no chat template) of 24 tokens fill 6 blocks each,
    // so inserting B evicts A's two oldest (leading) blocks, and A no longer matches at all.
    const sim = await startSimulator({blockSize: 4, cacheBlocks: 10, itlMs: 1, baseTtftMs: 1, prefillMsPerToken: 0.01})
    try {
      const a = words(24, 'a')
      const b = words(24, 'b')
      await complete(sim, a)
      expect(cached(await complete(sim, a))).toBe(20) // 5 blocks: the 6th holds the last token
      await complete(sim, b)
      expect(cached(await complete(sim, a))).toBe(0)
      // A was re-inserted and pushed B's leading blocks out in turn.
      expect(cached(await complete(sim, a))).toBe(20)
      expect(cached(await complete(sim, b))).toBe(0)
    } finally {
      await sim.close()
    }
  })
})

describe('/metrics', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({itlMs: 1, baseTtftMs: 1, prefillMsPerToken: 0.01, model: 'm1'})
  })
  afterAll(() => sim.close())

  const scrape = async () => {
    const r = await send(sim.url, '/metrics')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain/)
    return r.body
  }

  it('exposes vLLM/LMCache-named series that a Prometheus parser accepts', async () => {
    const text = await scrape()
    const families = parsePrometheusTextFormat(text) as Array<{name: string; type: string}>
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]))
    expect(types).toMatchObject({
      'vllm:prefix_cache_queries_total': 'COUNTER',
      'vllm:prefix_cache_hits_total': 'COUNTER',
      'vllm:prompt_tokens_total': 'COUNTER',
      'vllm:generation_tokens_total': 'COUNTER',
      'vllm:request_success_total': 'COUNTER',
      'vllm:num_requests_running': 'GAUGE',
      'vllm:num_requests_waiting': 'GAUGE',
      'vllm:kv_cache_usage_perc': 'GAUGE',
      lmcache_hit_rate: 'GAUGE',
      'lmcache:num_hit_tokens_total': 'COUNTER',
      'lmcache:num_requested_tokens_total': 'COUNTER',
      'vllm:time_to_first_token_seconds': 'HISTOGRAM',
    })
  })

  it('counters move by exactly what the requests reported; gauges reflect the cache', async () => {
    const l = '{model_name="m1"}'
    const before = promSamples(await scrape())
    const scrapesBefore = sim.stats().metricsScrapes
    const prompt = words(640, 'metrics')
    const cold = usage(await streamChat(sim, prompt, 5))
    const warm = usage(await streamChat(sim, prompt, 5))
    const after = promSamples(await scrape())
    const delta = (k: string) => (after.get(k) ?? NaN) - (before.get(k) ?? 0)
    expect(delta(`vllm:prefix_cache_queries_total${l}`)).toBe(cold.prompt_tokens + warm.prompt_tokens)
    expect(delta(`vllm:prefix_cache_hits_total${l}`)).toBe(warm.prompt_tokens_details.cached_tokens)
    expect(delta(`lmcache:num_hit_tokens_total${l}`)).toBe(warm.prompt_tokens_details.cached_tokens)
    expect(delta(`lmcache:num_requested_tokens_total${l}`)).toBe(cold.prompt_tokens + warm.prompt_tokens)
    expect(delta(`vllm:prompt_tokens_total${l}`)).toBe(cold.prompt_tokens + warm.prompt_tokens)
    expect(delta(`vllm:generation_tokens_total${l}`)).toBe(10)
    expect(delta('vllm:request_success_total{model_name="m1",finished_reason="length"}')).toBe(2)
    expect(delta(`vllm:time_to_first_token_seconds_count${l}`)).toBe(2)
    expect(after.get(`lmcache_hit_rate${l}`)).toBeCloseTo(warm.prompt_tokens_details.cached_tokens / warm.prompt_tokens, 6)
    expect(after.get(`vllm:kv_cache_usage_perc${l}`)).toBeGreaterThan(0)
    expect(after.get(`vllm:num_requests_running${l}`)).toBe(0)
    expect(sim.stats().metricsScrapes).toBe(scrapesBefore + 1)
    await send(sim.url, '/reset_prefix_cache', undefined, {method: 'POST'})
    expect(promSamples(await scrape()).get(`vllm:kv_cache_usage_perc${l}`)).toBe(0)
  })

  it('keeps registries private: two simulators do not share counters', async () => {
    const other = await startSimulator({model: 'm1'})
    try {
      const text = (await send(other.url, '/metrics')).body
      expect(promSamples(text).get('vllm:prompt_tokens_total{model_name="m1"}')).toBe(0)
    } finally {
      await other.close()
    }
  })
})
