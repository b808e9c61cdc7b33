import type {Slo} from '../../src/slo/slo.js'
import {summarizeRound, type RoundSummary} from '../../src/summary/round-summary.js'
import {records, type RoundSpec} from './hand-records.js'
import {
  overallSummary,
  overallSummaryJson,
  renderOverall,
  SATURATION_RULE,
  ttftBySampleIndex,
  type OverallLevelInput,
} from '../../src/summary/overall.js'

const summary = (c: number, round: number, spec: RoundSpec, slo?: Slo): RoundSummary => summarizeRound(c, round, records(c, round, spec), slo)

/** Levels with one round each, from [concurrency, spec] pairs. */
const oneRound = (specs: [number, RoundSpec][], slo?: Slo): OverallLevelInput[] =>
  specs.map(([c, spec]) => ({concurrency: c, rounds: [summary(c, 1, spec, slo)]}))

describe('overallSummary: best levels', () => {
  // requests/s: 10, 20, 21, 22; latency 500, 600, 900, 1400 ms. With latency_ms < 1000 the last level meets nothing.
  const slo = {latency_ms: 1000}
  const levels = oneRound(
    [
      [1, {ok: 20, durationMs: 2000, latencyMs: 500}],
      [2, {ok: 40, durationMs: 2000, latencyMs: 600}],
      [4, {ok: 42, durationMs: 2000, latencyMs: 900}],
      [8, {ok: 44, durationMs: 2000, latencyMs: 1400}],
    ],
    slo,
  )

  test('best request throughput, output throughput and goodput, and their levels', () => {
    const o = overallSummary([...levels].reverse()) // input order does not matter
    expect(o.concurrency_levels).toEqual([1, 2, 4, 8])
    expect(o.best_request_throughput).toEqual({requests_per_s: 22, concurrency: 8, round: 1})
    expect(o.best_qps_at_concurrency).toBe(8)
    expect(o.best_output_throughput).toEqual({tokens_per_s: 220, concurrency: 8, round: 1})
    // c=8 has the best raw throughput but no request under 1000 ms: the best goodput is c=4.
    expect(o.best_goodput).toEqual({requests_per_s: 21, tokens_per_s: 210, concurrency: 4, round: 1})
  })

  test('ties keep the lower concurrency; no SLO → no best goodput', () => {
    const o = overallSummary(
      oneRound([
        [4, {ok: 20, durationMs: 1000, latencyMs: 500}],
        [2, {ok: 20, durationMs: 1000, latencyMs: 500}],
      ]),
    )
    expect(o.best_request_throughput).toEqual({requests_per_s: 20, concurrency: 2, round: 1})
    expect(o.best_goodput).toBeNull()
  })

  test('error rate per level and round', () => {
    const o = overallSummary(oneRound([[1, {ok: 97, durationMs: 1000, latencyMs: 100, failed: 3}]]))
    expect(o.levels[0].rounds[0]).toMatchObject({round: 1, total_requests: 100, failed_requests: 3, error_rate: 0.03, requests_per_s: 97})
  })
})

describe('overallSummary: saturation', () => {
  test('throughput plateau: the first level with ≤5% more requests/s and >50% more P99 latency', () => {
    const o = overallSummary(
      oneRound([
        [1, {ok: 20, durationMs: 2000, latencyMs: 500}],
        [2, {ok: 40, durationMs: 2000, latencyMs: 600}], // +100% req/s
        [4, {ok: 42, durationMs: 2000, latencyMs: 900}], // +5% req/s (plateau) but P99 +50% exactly: not more than 50%
        [8, {ok: 44, durationMs: 2000, latencyMs: 1400}], // +4.8% req/s, P99 +55.6%: saturated
        [16, {ok: 10, durationMs: 5000, latencyMs: 5000, failed: 50}], // later levels do not matter
      ]),
    )
    const s = o.saturation.by_round[0]
    expect(s).toMatchObject({round: 1, concurrency: 8, triggers: ['throughput_plateau'], previous_concurrency: 4, error_rate: 0})
    expect(s.throughput_growth).toBeCloseTo(22 / 21 - 1, 12)
    expect(s.latency_p99_growth).toBeCloseTo(1400 / 900 - 1, 12)
    expect(o.saturation.rule).toBe(SATURATION_RULE)
  })

  test('a latency jump while throughput still grows by more than 5% is not saturation', () => {
    const o = overallSummary(
      oneRound([
        [1, {ok: 10, durationMs: 1000, latencyMs: 200}],
        [2, {ok: 11, durationMs: 1000, latencyMs: 900}], // +10% req/s, P99 ×4.5
      ]),
    )
    expect(o.saturation.by_round[0].concurrency).toBeNull()
  })

  test('error rate above 1% (exactly 1% is not above)', () => {
    const o = overallSummary(
      oneRound([
        [1, {ok: 10, durationMs: 1000, latencyMs: 500}],
        [2, {ok: 99, durationMs: 1000, latencyMs: 500, failed: 1}], // 1%
        [4, {ok: 98, durationMs: 1000, latencyMs: 500, failed: 2}], // 2%
      ]),
    )
    expect(o.saturation.by_round[0]).toMatchObject({concurrency: 4, triggers: ['error_rate'], previous_concurrency: 2, error_rate: 0.02})
  })

  test('the error-rate trigger also applies to the first level', () => {
    const o = overallSummary(oneRound([[1, {ok: 5, durationMs: 1000, latencyMs: 500, failed: 5}]]))
    expect(o.saturation.by_round[0]).toMatchObject({concurrency: 1, triggers: ['error_rate'], previous_concurrency: null, error_rate: 0.5})
  })

  test('both triggers at one level are both reported', () => {
    const o = overallSummary(
      oneRound([
        [1, {ok: 10, durationMs: 1000, latencyMs: 500}],
        [2, {ok: 10, durationMs: 1000, latencyMs: 1000, failed: 1}],
      ]),
    )
    expect(o.saturation.by_round[0]).toMatchObject({concurrency: 2, triggers: ['error_rate', 'throughput_plateau']})
  })

  test('not reached while throughput keeps growing and nothing fails', () => {
    const o = overallSummary(
      oneRound([
        [1, {ok: 10, durationMs: 1000, latencyMs: 500}],
        [2, {ok: 19, durationMs: 1000, latencyMs: 550}],
        [4, {ok: 30, durationMs: 1000, latencyMs: 700}],
      ]),
    )
    expect(o.saturation.by_round).toEqual([
      {round: 1, concurrency: null, triggers: [], previous_concurrency: null, throughput_growth: null, latency_p99_growth: null, error_rate: null},
    ])
    expect(renderOverall(o)).toContain('Saturation: round 1 (cold): not reached')
  })

  test('computed per round: cold saturates, warm does not', () => {
    const level = (c: number, cold: RoundSpec, warm: RoundSpec): OverallLevelInput => ({concurrency: c, rounds: [summary(c, 1, cold), summary(c, 2, warm)]})
    const o = overallSummary([
      level(1, {ok: 10, durationMs: 1000, latencyMs: 500}, {ok: 10, durationMs: 500, latencyMs: 250}),
      level(2, {ok: 10, durationMs: 1000, latencyMs: 1000}, {ok: 20, durationMs: 500, latencyMs: 300}),
    ])
    expect(o.rounds).toEqual([1, 2])
    expect(o.saturation.by_round.map((s) => [s.round, s.concurrency])).toEqual([
      [1, 2],
      [2, null],
    ])
    // Warm round 2 at c=2: 20 requests in 0.5 s.
    expect(o.best_request_throughput).toEqual({requests_per_s: 40, concurrency: 2, round: 2})
  })

  test('custom thresholds change the rule and its text', () => {
    const levels = oneRound([
      [1, {ok: 10, durationMs: 1000, latencyMs: 500}],
      [2, {ok: 95, durationMs: 1000, latencyMs: 500, failed: 5}], // 5% errors
    ])
    expect(overallSummary(levels).saturation.by_round[0].concurrency).toBe(2)
    const lenient = overallSummary(levels, {saturation: {errorRate: 0.1}})
    expect(lenient.saturation.by_round[0].concurrency).toBeNull()
    expect(lenient.saturation.rule).toContain('exceeds 10%')
  })
})

describe('overallSummary: cache speed-up', () => {
  // Round 1 TTFT 100..1000 ms by sample; round 2 is 4× faster on every sample but sample 3 failed in round 2.
  const cold = records(2, 1, {ok: 10, durationMs: 3000, latencyMs: 2000, ttft: (i) => 100 * (i + 1)})
  const warmAll = records(2, 2, {ok: 10, durationMs: 3000, latencyMs: 2000, ttft: (i) => 25 * (i + 1)})
  const warm = warmAll.map((r) => (r.index === 3 ? {...r, ok: false, error: {category: 'timeout' as const, message: 't'}} : r))
  const input: OverallLevelInput = {
    concurrency: 2,
    rounds: [summarizeRound(2, 2, warm), summarizeRound(2, 1, cold)], // any order; ttftByIndex is aligned with rounds
    ttftByIndex: [ttftBySampleIndex(warm), ttftBySampleIndex(cold)],
  }

  test('ttftBySampleIndex puts each TTFT at its sample index, NaN where missing', () => {
    const t = ttftBySampleIndex(warm)
    expect(t.length).toBe(10)
    expect(t[0]).toBe(25)
    expect(t[9]).toBe(250)
    expect(Number.isNaN(t[3])).toBe(true)
    expect(ttftBySampleIndex(warm, 12).length).toBe(12)
  })

  test('P50/avg speed-up and the paired geometric mean with its bootstrap CI', () => {
    const o = overallSummary([input])
    const c = o.levels[0].cache_speedup!
    // P50 of round 1 = 550; round 2 lacks sample 3 (100 ms): P50 of 25,50,75,125,…,250 = 150.
    expect(c.ttft_p50_speedup).toBeCloseTo(550 / 150, 12)
    expect(c.paired).toMatchObject({statistic: 'geometric_mean', pairs: 9, resamples: 2000, confidence: 0.95, seed: 1})
    // Every pair is exactly 4×: the estimate and both bounds are 4.
    expect(c.paired!.ratio).toBeCloseTo(4, 12)
    expect(c.paired!.ci_low).toBeCloseTo(4, 12)
    expect(c.paired!.ci_high).toBeCloseTo(4, 12)
  })

  test('without per-sample TTFTs there is no paired value; a level without round 2 has no speed-up', () => {
    const o = overallSummary([{concurrency: 2, rounds: input.rounds}, {concurrency: 4, rounds: [summarizeRound(4, 1, cold)]}])
    expect(o.levels[0].cache_speedup!.paired).toBeNull()
    expect(o.levels[0].cache_speedup!.ttft_p50_speedup).not.toBeNull()
    expect(o.levels[1].cache_speedup).toBeNull()
  })

  test('the same input gives the same JSON; the JSON rounds float noise but keeps small error rates', () => {
    const a = JSON.stringify(overallSummaryJson(overallSummary([input])))
    const b = JSON.stringify(overallSummaryJson(overallSummary([input])))
    expect(a).toBe(b)
    const j = overallSummaryJson(overallSummary(oneRound([[1, {ok: 2499, durationMs: 3000, latencyMs: 100, failed: 1}]]))) as {
      levels: {rounds: {error_rate: number; requests_per_s: number}[]}[]
    }
    expect(j.levels[0].rounds[0].error_rate).toBe(0.0004)
    expect(j.levels[0].rounds[0].requests_per_s).toBe(833)
  })

  test('renderOverall shows the headline values and one row per level', () => {
    const text = renderOverall(overallSummary([input, {concurrency: 4, rounds: [summarizeRound(4, 1, cold)]}]))
    expect(text).toMatch(/Best request throughput: \d+\.\d\d req\/s at concurrency \d, round/)
    expect(text).toContain('Best goodput:            no SLO given')
    expect(text).toMatch(/^ {2}2 .* 3\.67× .* 4\.00× \[4\.00–4\.00\] n=9$/m)
    expect(text).toMatch(/^ {2}4 /m)
    expect(text.split('\n').length).toBeLessThan(12)
  })
})
