import {summarizeRound, cacheEffect} from '../../src/summary/round-summary.js'
import {summaryCsv} from '../../src/output/csv.js'
import {summaryBlocks} from '../../src/output/summary-rows.js'
import {roundJson} from '../../src/output/round-json.js'
import type {RequestRecord} from '../../src/record/record.js'

/** Four requests over exactly 2 s, hand-checked below. */
function records(round: number): RequestRecord[] {
  const base = {level: 4, round, promptPreview: 'p', queuedAtMs: 0, ok: true, outputTokensSource: 'usage' as const}
  return [
    // ttft 100, latency 1000, 10 tokens → itl 100
    {...base, index: 0, sampleId: 'a', sentAtMs: 0, firstTokenAtMs: 100, endedAtMs: 1000, outputTokens: 10, inputTokens: 100, cachedTokens: 0},
    // ttft 300 (violates ttft<200), 20 tokens
    {...base, index: 1, sampleId: 'b', sentAtMs: 0, firstTokenAtMs: 300, endedAtMs: 1200, outputTokens: 20, inputTokens: 100, cachedTokens: 50},
    // ttft 150, latency 2000 - 1000 = 1000, 30 tokens
    {...base, index: 2, sampleId: 'c', sentAtMs: 1000, firstTokenAtMs: 1150, endedAtMs: 2000, outputTokens: 30, inputTokens: 200, cachedTokens: 150},
    {...base, index: 3, sampleId: 'd', sentAtMs: 1000, endedAtMs: 1500, ok: false, error: {category: 'http_5xx', message: 'boom', httpStatus: 500}},
  ]
}

describe('summarizeRound', () => {
  const s = summarizeRound(4, 1, records(1), {ttft_ms: 200})

  test('counts, duration and throughput', () => {
    expect(s.total_requests).toBe(4)
    expect(s.successful_requests).toBe(3)
    expect(s.failed_requests).toBe(1)
    expect(s.duration_s).toBe(2)
    expect(s.throughput.output_tokens_per_s).toBe(30) // 60 tokens / 2 s
    expect(s.throughput.requests_per_s).toBe(1.5)
    expect(s.distributions.ttft.avg).toBeCloseTo((100 + 300 + 150) / 3, 9)
    expect(s.distributions.ttft.p50).toBe(150)
    expect(s.failures).toEqual({http_5xx: {count: 1, example: 'boom'}})
  })

  test('goodput for a hand-computed case', () => {
    // a and c meet ttft<200: 2 of 4 requests, 40 of 60 tokens
    expect(s.goodput).toMatchObject({met_requests: 2, met_requests_pct: 50, met_output_tokens: 40, tokens_per_s: 20, requests_per_s: 1})
    expect(s.goodput!.met_output_tokens_pct).toBeCloseTo(66.667, 2)
  })

  test('cache share and cold→warm effect', () => {
    expect(s.cache.cached_share).toBe(200 / 400)
    const warm = summarizeRound(4, 2, records(2).map((r) => ({...r, firstTokenAtMs: r.firstTokenAtMs === undefined ? undefined : r.sentAtMs + 50})))
    const e = cacheEffect(s, warm)
    expect(e.ttft_avg_speedup).toBeCloseTo(550 / 3 / 50, 9)
    expect(e.ttft_p50_speedup).toBe(3)
  })
})

describe('outputs', () => {
  const summaries = [summarizeRound(4, 1, records(1), {ttft_ms: 200}), summarizeRound(4, 2, records(2), {ttft_ms: 200})]

  test('metrics_summary.csv has the seed layout', () => {
    const lines = summaryCsv(summaries, summaryBlocks()).split('\n')
    expect(lines[0]).toBe('Metric/Round,Concurrency 4 Round 1,Concurrency 4 Round 2')
    expect(lines[1]).toBe('')
    expect(lines[2]).toBe('TTFT (ms)')
    expect(lines.slice(3, 10).map((l) => l.split(',')[0])).toEqual(['Avg', 'P50', 'P90', 'P99', 'Min', 'Max', 'Stddev'])
    expect(lines[4]).toBe('P50,150,150')
    expect(lines).toContain('ITL (ms)')
    expect(lines).toContain('Latency (ms)')
    const t = lines.indexOf('Throughput')
    expect(t).toBeGreaterThan(0)
    expect(lines.slice(t + 1)).toContain('Output tokens/s,30,30')
    const g = lines.indexOf('Goodput')
    expect(lines.slice(g + 1, g + 3)).toEqual(['SLO-met requests,2,2', 'SLO-met requests (%),50,50'])
  })

  test('round JSON keys', () => {
    const json = roundJson({endpoint: 'http://x/v1/chat/completions'}, summaries[0], records(1), {ttft_ms: 200}) as any
    expect(json.configuration).toMatchObject({endpoint: 'http://x/v1/chat/completions', concurrency: 4, round: 1})
    for (const key of ['total_requests', 'successful_requests', 'failed_requests', 'avg_ttft', 'p50_ttft', 'p90_ttft', 'p99_ttft', 'min_ttft', 'max_ttft', 'stddev_ttft', 'avg_itl', 'p99_latency', 'output_throughput', 'request_throughput', 'goodput']) {
      expect(json.summary).toHaveProperty(key)
    }
    expect(json.requests).toHaveLength(4)
    expect(Object.keys(json.requests[0])).toEqual(expect.arrayContaining(['index', 'sample_id', 'prompt', 'ttft', 'itl', 'latency', 'input_tokens', 'output_tokens', 'cached_tokens', 'success', 'error', 'slo_met']))
    expect(json.requests[1]).toMatchObject({index: 1, ttft: 300, slo_met: false, success: true})
    expect(json.requests[3]).toMatchObject({success: false, error: 'http_5xx: boom', slo_met: false})
  })
})
