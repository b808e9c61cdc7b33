import {beforeAll, describe, expect, test} from '@jest/globals'
import {compareRuns, formatFactor, metricDelta, signedPct} from '../../src/report/compare.js'
import {compareText} from '../../src/report/compare-text.js'
import type {RunResults} from '../../src/report/model.js'
import {loadFixture, OFF, ON} from './helpers.js'

let off: RunResults
let on: RunResults

beforeAll(async () => {
  off = await loadFixture(OFF)
  on = await loadFixture(ON)
})

describe('metricDelta', () => {
  test('B − A, B / A, and a verdict relative to the noise threshold and the better direction', () => {
    expect(metricDelta('ttft_p50', 'TTFT P50 (ms)', 'lower', 380, 100, 0.05)).toEqual({
      key: 'ttft_p50', label: 'TTFT P50 (ms)', better: 'lower', a: 380, b: 100, delta: -280, ratio: 100 / 380, verdict: 'better',
    })
    expect(metricDelta('x', 'x', 'higher', 100, 95, 0.05).verdict).toBe('worse')
    expect(metricDelta('x', 'x', 'higher', 100, 95.1, 0.05).verdict).toBe('no clear difference')
    expect(metricDelta('x', 'x', 'lower', 100, 104, 0.05).verdict).toBe('no clear difference')
    expect(metricDelta('x', 'x', 'lower', 100, 106, 0.05).verdict).toBe('worse')
    // A zero baseline: no ratio, but a change from 0 is still a change.
    expect(metricDelta('x', 'x', 'higher', 0, 3, 0.05)).toMatchObject({delta: 3, ratio: null, verdict: 'better'})
    expect(metricDelta('x', 'x', 'higher', 0, 0, 0.05)).toMatchObject({delta: 0, ratio: null, verdict: 'no clear difference'})
    expect(metricDelta('x', 'x', 'higher', null, 3, 0.05)).toMatchObject({delta: null, ratio: null, verdict: null})
  })

  test('factors keep two decimals below 2×', () => {
    expect(formatFactor(3.8)).toBe('3.8×')
    expect(formatFactor(1.0286)).toBe('1.03×')
  })

  test('percent changes: one decimal under 10%', () => {
    expect(signedPct(410 / 400 - 1)).toBe('+2.5%')
    expect(signedPct(0.12)).toBe('+12%')
    expect(signedPct(50 / 65 - 1)).toBe('−23%')
    expect(signedPct(-0.05)).toBe('−5%')
  })
})

describe('compareRuns: LMCache off (A) vs on (B)', () => {
  test('matches (level, round) present in both; lists the rest', () => {
    const c = compareRuns(off, on)
    expect(c.rounds.map((r) => [r.concurrency, r.round])).toEqual([[1, 1], [1, 2], [8, 1], [8, 2]])
    expect(c.only_in_a).toEqual([])
    expect(c.only_in_b).toEqual([{concurrency: 16, round: 1}, {concurrency: 16, round: 2}])
    expect(c.rounds[0].metrics.map((m) => m.key)).toEqual([
      'ttft_avg', 'ttft_p50', 'ttft_p99', 'latency_p50', 'latency_p99', 'output_tokens_per_s', 'requests_per_s', 'goodput_tokens_per_s', 'goodput_requests_per_s',
    ])
    expect(c.warnings).toEqual([])
    expect(compareRuns(on, off).only_in_a).toEqual([{concurrency: 16, round: 1}, {concurrency: 16, round: 2}])
  })

  test('values, deltas and ratios (hand-checked from the fixtures)', () => {
    const c = compareRuns(off, on)
    const warm1 = Object.fromEntries(c.rounds[1].metrics.map((m) => [m.key, m]))
    expect(warm1.ttft_p50).toMatchObject({a: 380, b: 100, delta: -280, verdict: 'better'})
    expect(warm1.ttft_p50.ratio).toBeCloseTo(0.263158, 6)
    expect(warm1.ttft_p99).toMatchObject({a: 450, b: 160, delta: -290})
    expect(warm1.output_tokens_per_s).toMatchObject({a: 100, b: 112, ratio: 1.12, verdict: 'better'})
    expect(warm1.goodput_tokens_per_s).toMatchObject({a: 50, b: 65, ratio: 1.3})
    expect(warm1.requests_per_s).toMatchObject({a: 0.4, b: 0.4, delta: 0, ratio: 1, verdict: 'no clear difference'})
    const cold8 = Object.fromEntries(c.rounds[2].metrics.map((m) => [m.key, m]))
    expect(cold8.ttft_p50).toMatchObject({a: 900, b: 880, delta: -20, verdict: 'no clear difference'})
  })

  test('one verdict per level; small differences are "no clear difference"', () => {
    const c = compareRuns(off, on)
    expect(c.verdicts.map((v) => v.text)).toEqual([
      'C=1: B is 3.8× faster to first token warm (P50), cold: no clear difference, output throughput +12%, goodput +30%',
      'C=8: no clear difference (all within 5%)',
    ])
    // Level throughput is total tokens / total time over both rounds: A (100·20 + 100·20) / 40 s, B (112·20 + 112·20) / 40 s.
    expect(c.verdicts[0].output_throughput).toMatchObject({a: 100, b: 112})
    expect(c.verdicts[0].goodput).toMatchObject({a: 50, b: 65})
  })

  test('the threshold decides what counts as a difference', () => {
    const c = compareRuns(off, on, {noise: 0.01})
    expect(c.noise_threshold).toBe(0.01)
    expect(c.verdicts[1].text).toBe('C=8: B is 1.03× faster to first token warm (P50), cold: 1.02× faster, output throughput +2.5%, goodput +2%')
    const reversed = compareRuns(on, off, {noise: 0.01})
    expect(reversed.verdicts[0].text).toBe('C=1: B is 3.8× slower to first token warm (P50), cold: 1.02× faster, output throughput −11%, goodput −23%')
  })

  test('setup differences are warned about', () => {
    const other = structuredClone(on)
    other.run.dataset!.sha256 = 'ffff0000111122223333'
    other.run.configuration.model = 'other-model'
    other.run.simulator = {url: 'http://127.0.0.1:1'}
    expect(compareRuns(off, other).warnings).toEqual([
      'A and B used different datasets (sha256 a3f1c0ffee00… vs ffff00001111…): the requests differ.',
      'A and B used different models (meta-llama/Llama-3.1-8B-Instruct vs other-model).',
      'B was measured against the built-in simulator, not a model server.',
    ])
  })

  test('a run without SLO gives no goodput verdict; no shared level gives no verdict', () => {
    const noSlo = structuredClone(on)
    for (const r of noSlo.rounds) r.summary.goodput = null
    const c = compareRuns(off, noSlo)
    expect(c.verdicts[0].goodput?.verdict).toBeNull()
    expect(c.verdicts[0].text).toBe('C=1: B is 3.8× faster to first token warm (P50), cold: no clear difference, output throughput +12%')
    const only16 = structuredClone(on)
    only16.rounds = only16.rounds.filter((r) => r.concurrency === 16)
    const none = compareRuns(off, only16)
    expect(none.verdicts).toEqual([])
    expect(compareText(none)).toContain('No concurrency level is present in both runs.')
  })
})

describe('compareText', () => {
  test('aligned tables per (level, round), the levels only one run has, and the verdicts', () => {
    const text = compareText(compareRuns(off, on))
    const lines = text.split('\n')
    expect(lines[0]).toBe(`A = ${OFF} (meta-llama/Llama-3.1-8B-Instruct, http://10.0.0.5:8000/v1/chat/completions)`)
    const start = lines.indexOf('Concurrency 1 | round 2 (warm)')
    expect(lines[start + 1]).toMatch(/^ {2}Metric +A +B +B − A +B \/ A$/)
    expect(lines[start + 3]).toMatch(/^ {2}TTFT P50 \(ms\) +380\.00 +100\.00 +-280\.00 +0\.263 +better$/)
    // Right-aligned numbers: every row of a table has the same length up to the B / A column.
    const table = lines.slice(start + 1, start + 11).map((l) => l.replace(/ +(better|worse|~)$/, ''))
    expect(new Set(table.map((l) => l.length)).size).toBe(1)
    expect(text).toContain('Only in B: C=16 (round 1, 2)')
    expect(text).toContain('  C=8: no clear difference (all within 5%)')
  })
})
