import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {DualBenchError} from '../../src/errors.js'
import {anyTargetFailed, evaluateTargets, renderTargets, targetCoverageWarnings} from '../../src/slo/evaluate-targets.js'
import {parseSlo, parseSloFile} from '../../src/slo/slo.js'
import {parseTargetKey, type Targets} from '../../src/slo/targets.js'
import {summarizeRound} from '../../src/summary/round-summary.js'
import {records, type RoundSpec} from '../summary/hand-records.js'

function errorOf(fn: () => unknown): DualBenchError {
  try {
    fn()
  } catch (error) {
    if (error instanceof DualBenchError) return error
    throw error
  }
  throw new Error('expected an error')
}

const SEED_004_STYLE = `# Targets in the style of seed 004's table
slo: {ttft_ms: 1000}
targets:
  p99_latency_ms: 1500
  p90_ttft_ms: 800
  min_request_throughput: 10     # requests/s, at least
  max_error_rate: 0.01           # fraction, at most
  min_goodput_ratio: 0.9         # SLO-met share of requests, at least
  rounds: [2]
`

describe('parseSloFile: targets grammar', () => {
  test('the documented example, read from a real file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dual-bench-targets-'))
    try {
      const file = path.join(dir, 'slo.yaml')
      writeFileSync(file, SEED_004_STYLE)
      const parsed = parseSloFile(readFileSync(file, 'utf8'), file)
      expect(parsed.slo).toEqual({ttft_ms: 1000})
      expect(parsed.targets!.rounds).toEqual([2])
      expect(parsed.targets!.concurrency).toBeNull()
      expect(parsed.targets!.targets).toEqual([
        {key: 'p99_latency_ms', measure: {kind: 'distribution', metric: 'latency', stat: 'p99'}, direction: 'at_most', unit: 'ms', bound: 1500},
        {key: 'p90_ttft_ms', measure: {kind: 'distribution', metric: 'ttft', stat: 'p90'}, direction: 'at_most', unit: 'ms', bound: 800},
        {key: 'min_request_throughput', measure: {kind: 'request_throughput'}, direction: 'at_least', unit: 'req/s', bound: 10},
        {key: 'max_error_rate', measure: {kind: 'error_rate'}, direction: 'at_most', unit: 'fraction', bound: 0.01},
        {key: 'min_goodput_ratio', measure: {kind: 'goodput_ratio'}, direction: 'at_least', unit: 'fraction', bound: 0.9},
      ])
      // The goodput-only entry point still works on such a file.
      expect(parseSlo(readFileSync(file, 'utf8'), file)).toEqual({ttft_ms: 1000})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  test('every metric × statistic of the grammar, vLLM aliases, and the other aggregates', () => {
    for (const stat of ['p50', 'p90', 'p95', 'p99', 'avg']) {
      for (const metric of ['ttft', 'itl', 'latency', 'chunk_gap']) {
        expect(parseTargetKey(`${stat}_${metric}_ms`)).toEqual({measure: {kind: 'distribution', metric, stat}, direction: 'at_most', unit: 'ms'})
      }
    }
    expect(parseTargetKey('p99_tpot_ms')).toMatchObject({measure: {metric: 'itl'}})
    expect(parseTargetKey('avg_e2el_ms')).toMatchObject({measure: {metric: 'latency'}})
    expect(parseTargetKey('min_output_throughput')).toMatchObject({measure: {kind: 'output_throughput'}, direction: 'at_least', unit: 'tok/s'})
    expect(parseTargetKey('min_goodput_rps')).toMatchObject({measure: {kind: 'goodput_rps'}, unit: 'req/s'})
    expect(parseTargetKey('min_goodput_tps')).toMatchObject({measure: {kind: 'goodput_tps'}, unit: 'tok/s'})
  })

  test('slo: is optional when targets: is given; concurrency filter; a single number is a one-item list', () => {
    const parsed = parseSloFile('targets:\n  p99_ttft_ms: 800\n  concurrency: [16, 8, 8]\n  rounds: 2\n', 'f.yaml')
    expect(parsed.slo).toBeUndefined()
    expect(parsed.targets).toMatchObject({rounds: [2], concurrency: [8, 16]})
  })

  const cases: [string, string, RegExp][] = [
    ['unknown metric', 'targets:\n  p99_ttft_ms: 800\n  p99_foo_ms: 3\n', /^f\.yaml:3: "p99_foo_ms": unknown metric "foo" \(available: ttft, itl, latency, chunk_gap/],
    ['percentile not computed', 'targets:\n  p75_ttft_ms: 800\n', /^f\.yaml:2: "p75_ttft_ms": p75 is not computed \(available: p50, p90, p95, p99, avg\)/],
    ['fractional percentile', 'targets:\n  p99.9_latency_ms: 800\n', /p99\.9 is not computed/],
    ['missing _ms', 'targets:\n  p99_ttft: 800\n', /^f\.yaml:2: "p99_ttft": time targets end in _ms — write "p99_ttft_ms"/],
    ['unknown key', 'slo:\n  ttft_ms: 1\ntargets:\n  max_latency: 800\n', /^f\.yaml:4: unknown target "max_latency"/],
    ['non-number', 'targets:\n  p99_ttft_ms: fast\n', /^f\.yaml:2: target "p99_ttft_ms" must be a number, got "fast"/],
    ['zero ms', 'targets:\n  p99_ttft_ms: 0\n', /^f\.yaml:2: target "p99_ttft_ms" must be a positive number of milliseconds/],
    ['negative throughput', 'targets:\n  min_request_throughput: -1\n', /must be a positive number \(req\/s\)/],
    ['fraction above 1', 'targets:\n  max_error_rate: 5\n', /^f\.yaml:2: target "max_error_rate" is a fraction between 0 and 1, got 5/],
    ['goodput without slo', 'targets:\n  min_goodput_ratio: 0.9\n', /^f\.yaml:2: target "min_goodput_ratio" needs an `slo:` map/],
    ['alias duplicate', 'targets:\n  p99_itl_ms: 50\n  p99_tpot_ms: 40\n', /^f\.yaml:3: "p99_tpot_ms" bounds the same value as "p99_itl_ms"/],
    ['bad rounds', 'targets:\n  p99_ttft_ms: 1\n  rounds: [two]\n', /^f\.yaml:3: targets\.rounds must be a list of whole numbers ≥ 1/],
    ['round 3', 'targets:\n  p99_ttft_ms: 1\n  rounds: [3]\n', /^f\.yaml:3: targets\.rounds lists \[3\], but a run has rounds 1 \(cold\) and 2 \(warm\) only/],
    ['bad concurrency', 'targets:\n  p99_ttft_ms: 1\n  concurrency: [0]\n', /^f\.yaml:3: targets\.concurrency must be a list/],
    ['empty concurrency', 'targets:\n  p99_ttft_ms: 1\n  concurrency: []\n', /targets\.concurrency must be a list/],
    ['targets not a map', 'slo: {ttft_ms: 5}\ntargets: [p99_ttft_ms]\n', /^f\.yaml:2: `targets:` must be a map/],
    ['filters only', 'targets:\n  rounds: [2]\n', /^f\.yaml:1: the `targets:` map is empty \(it only has filters\)/],
    ['neither slo nor targets', '# nothing\n', /^f\.yaml: .*`slo:` and\/or a `targets:`/],
    ['unknown top-level key', 'slo: {ttft_ms: 1}\ntarget:\n  p99_ttft_ms: 1\n', /^f\.yaml:2: unknown key "target" \(allowed: slo, targets\)/],
    ['flow style keeps the line', 'slo: {ttft_ms: 1}\n\ntargets: {p99_latency_ms: 1500, p75_ttft_ms: 3}\n', /^f\.yaml:3: "p75_ttft_ms": p75/],
  ]
  test.each(cases)('%s → file:line and what is wrong', (_name, yaml, message) => {
    const e = errorOf(() => parseSloFile(yaml, 'f.yaml'))
    expect(e.message).toMatch(message)
    expect(e.exit).toBe(2)
    expect(e.suggestions.length).toBeGreaterThan(0)
  })

  test('suggestions: the grammar for unknown keys, the fraction for a percentage', () => {
    expect(errorOf(() => parseSloFile('targets:\n  max_latency: 1\n', 'f.yaml')).suggestions.join('\n')).toContain('p50|p90|p95|p99|avg')
    expect(errorOf(() => parseSloFile('targets:\n  max_error_rate: 5\n', 'f.yaml')).suggestions).toEqual(['Write a fraction: 5% is max_error_rate: 0.05'])
  })

  test('a commented-out key does not take the line number', () => {
    const e = errorOf(() => parseSloFile('# p75_ttft_ms: 1 was here\ntargets:\n  p75_ttft_ms: 800\n', 'f.yaml'))
    expect(e.message).toMatch(/^f\.yaml:3:/)
  })
})

describe('evaluateTargets', () => {
  const slo = {ttft_ms: 300}
  const round = (c: number, r: number, spec: RoundSpec) => summarizeRound(c, r, records(c, r, spec), slo)
  // c=4: round 1 5 req/s, P99 latency 1000, TTFT 400 (misses the SLO); round 2 10 req/s, P99 600, TTFT 100.
  // c=8: round 1 9 req/s with 2 of 20 failed, P99 1800; round 2 20 req/s, P99 900, 18 of 20 under the SLO.
  const summaries = [
    round(8, 2, {ok: 20, durationMs: 1000, latencyMs: 900, ttft: (i) => (i < 18 ? 100 : 350)}),
    round(4, 1, {ok: 10, durationMs: 2000, latencyMs: 1000, ttft: () => 400}),
    round(4, 2, {ok: 10, durationMs: 1000, latencyMs: 600}),
    round(8, 1, {ok: 18, durationMs: 2000, latencyMs: 1800, failed: 2}),
  ]
  const parse = (yaml: string): Targets => parseSloFile(yaml, 't.yaml').targets!
  const table = (rows: ReturnType<typeof evaluateTargets>) => rows.map((r) => [r.target, r.concurrency, r.round, r.actual === null ? null : Math.round(r.actual * 1e6) / 1e6, r.pass])

  test('one row per target × level × round, inclusive bounds, in file order then by level and round', () => {
    const rows = evaluateTargets(parse('slo: {ttft_ms: 300}\ntargets:\n  p99_latency_ms: 1000\n  min_request_throughput: 10\n'), summaries)
    expect(table(rows)).toEqual([
      ['p99_latency_ms', 4, 1, 1000, true], // at the bound (1000.0000000000001 after float sums): at most 1000 passes
      ['p99_latency_ms', 4, 2, 600, true],
      ['p99_latency_ms', 8, 1, 1800, false],
      ['p99_latency_ms', 8, 2, 900, true],
      ['min_request_throughput', 4, 1, 5, false],
      ['min_request_throughput', 4, 2, 10, true], // exactly at the bound: at least 10 passes
      ['min_request_throughput', 8, 1, 9, false],
      ['min_request_throughput', 8, 2, 20, true],
    ])
    expect(rows[0]).toMatchObject({direction: 'at_most', bound: 1000, unit: 'ms'})
    expect(anyTargetFailed(rows)).toBe(true)
  })

  test('error rate, goodput ratio, goodput rps', () => {
    const rows = evaluateTargets(
      parse('slo: {ttft_ms: 300}\ntargets:\n  max_error_rate: 0.01\n  min_goodput_ratio: 0.9\n  min_goodput_rps: 15\n  concurrency: [8]\n'),
      summaries,
    )
    // Round 1: 18 of 20 succeed, all with TTFT 100 < 300; round 2: 18 of 20 have TTFT 100, 2 have 350.
    expect(table(rows)).toEqual([
      ['max_error_rate', 8, 1, 0.1, false],
      ['max_error_rate', 8, 2, 0, true],
      ['min_goodput_ratio', 8, 1, 0.9, true], // failed requests count in the denominator
      ['min_goodput_ratio', 8, 2, 0.9, true],
      ['min_goodput_rps', 8, 1, 9, false], // 18 requests in 2 s
      ['min_goodput_rps', 8, 2, 18, true],
    ])
  })

  test('rounds filter: round 2 only', () => {
    const rows = evaluateTargets(parse('targets:\n  p99_latency_ms: 1000\n  rounds: [2]\n'), summaries)
    expect(rows.map((r) => [r.concurrency, r.round, r.pass])).toEqual([
      [4, 2, true],
      [8, 2, true],
    ])
    expect(anyTargetFailed(rows)).toBe(false)
  })

  test('a round without the value fails (no successful request → no P99)', () => {
    const allFailed = summarizeRound(16, 1, records(16, 1, {ok: 0, durationMs: 1, latencyMs: 1, failed: 3}))
    const rows = evaluateTargets(parse('targets:\n  p99_ttft_ms: 1000\n  max_error_rate: 0.5\n'), [allFailed])
    expect(table(rows)).toEqual([
      ['p99_ttft_ms', 16, 1, null, false],
      ['max_error_rate', 16, 1, 1, false],
    ])
  })

  test('renderTargets: a PASS/FAIL table with a verdict line', () => {
    const text = renderTargets(evaluateTargets(parse('targets:\n  p99_latency_ms: 1000\n  max_error_rate: 0.01\n  concurrency: [8]\n'), summaries))
    expect(text).toMatch(/│ p99_latency_ms +│ 8 +│ 1 +│ ≤ 1000\.0 ms +│ 1800\.0 ms +│ FAIL +│/)
    expect(text).toMatch(/│ +│ 8 +│ 2 +│ ≤ 1000\.0 ms +│ 900\.0 ms +│ PASS +│/) // repeated target name left blank
    expect(text).toMatch(/│ max_error_rate +│ 8 +│ 1 +│ ≤ 1% +│ 10% +│ FAIL +│/)
    expect(text).toContain('2 of 4 target checks FAILED.')
    const ok = renderTargets(evaluateTargets(parse('targets:\n  min_output_throughput: 1\n  rounds: [2]\n'), summaries))
    expect(ok).toMatch(/│ min_output_throughput +│ 4 +│ 2 +│ ≥ 1\.0 tok\/s +│ 100\.0 tok\/s +│ PASS +│/)
    expect(ok).toContain('All 2 target checks passed.')
    expect(renderTargets([])).toMatch(/nothing to check/)
  })

  test('coverage warnings for filters that select nothing', () => {
    expect(targetCoverageWarnings(parse('targets:\n  p99_ttft_ms: 1\n  concurrency: [8, 64]\n'), summaries)).toEqual([
      'targets.concurrency lists 64, not measured in this run (measured: 4, 8)',
    ])
    const none = targetCoverageWarnings(parse('targets:\n  p99_ttft_ms: 1\n  concurrency: [64]\n  rounds: [2]\n'), summaries.filter((s) => s.round === 1))
    expect(none).toHaveLength(3)
    expect(none[2]).toMatch(/no target was checked/)
    expect(targetCoverageWarnings(parse('targets:\n  p99_ttft_ms: 1\n'), summaries)).toEqual([])
  })
})
