import {parseSlo, unmeasuredBoundsWarning} from '../../src/slo/slo.js'
import {scoreRecord} from '../../src/slo/score.js'
import type {RequestRecord} from '../../src/record/record.js'
import {DualBenchError} from '../../src/errors.js'

const record = (over: Partial<RequestRecord>): RequestRecord => ({
  level: 1, round: 1, index: 0, sampleId: 's', promptPreview: '', queuedAtMs: 0, sentAtMs: 0, firstTokenAtMs: 100, endedAtMs: 1000, outputTokens: 10, ok: true, ...over,
})

function errorOf(fn: () => unknown): DualBenchError {
  try {
    fn()
  } catch (error) {
    return error as DualBenchError
  }
  throw new Error('expected an error')
}

describe('parseSlo', () => {
  test('the seed form and vLLM aliases', () => {
    expect(parseSlo('slo:\n  ttft_ms: 1000\n  itl_ms: 50\n  latency_ms: 10000\n', 'a.yaml')).toEqual({ttft_ms: 1000, itl_ms: 50, latency_ms: 10000})
    expect(parseSlo('slo:\n  tpot_ms: 40\n  e2el_ms: 900\n', 'a.yaml')).toEqual({itl_ms: 40, latency_ms: 900})
  })
  test('unknown key names file and line', () => {
    const e = errorOf(() => parseSlo('slo:\n  ttft_ms: 1000\n  tft_ms: 5\n', 'my.yaml'))
    expect(e.message).toContain('my.yaml:3')
    expect(e.message).toContain('tft_ms')
    expect(e.exit).toBe(2)
  })
  test('unknown top-level key, non-number, missing map, YAML syntax error', () => {
    expect(errorOf(() => parseSlo('slos:\n  ttft_ms: 1\n', 'f.yaml')).message).toMatch(/f\.yaml:1: unknown key "slos"/)
    expect(errorOf(() => parseSlo('slo:\n  ttft_ms: fast\n', 'f.yaml')).message).toMatch(/f\.yaml:2: .*positive number/)
    expect(errorOf(() => parseSlo('# nothing\n', 'f.yaml')).message).toMatch(/f\.yaml: .*slo/)
    // `targets:` is a known key since issue #7, but an empty one is still rejected.
    expect(errorOf(() => parseSlo('targets: {}\n', 'f.yaml')).message).toMatch(/f\.yaml:1: the `targets:` map is empty/)
    expect(errorOf(() => parseSlo('slo:\n  ttft_ms: [1,\n', 'f.yaml')).message).toMatch(/f\.yaml:\d+: invalid YAML/)
    expect(errorOf(() => parseSlo('slo:\n  itl_ms: 5\n  tpot_ms: 6\n', 'f.yaml')).message).toMatch(/second time/)
  })
})

describe('scoreRecord', () => {
  test('strict bounds; failed requests never meet; missing ITL is not checked', () => {
    const slo = {ttft_ms: 100, latency_ms: 2000}
    expect(scoreRecord(record({firstTokenAtMs: 99.9}), slo).met).toBe(true)
    expect(scoreRecord(record({firstTokenAtMs: 100}), slo).met).toBe(false) // value < bound, strictly
    expect(scoreRecord(record({ok: false}), slo).met).toBe(false)
    expect(scoreRecord(record({firstTokenAtMs: 50, outputTokens: 1}), {itl_ms: 1}).met).toBe(true)
    expect(scoreRecord(record({firstTokenAtMs: 50, endedAtMs: 500, outputTokens: 10}), {itl_ms: 50}).violations).toEqual(['itl_ms 50.0 ≥ 50'])
  })
})

describe('unmeasuredBoundsWarning', () => {
  test('TTFT and ITL bounds without streaming are named; with streaming, or latency only, nothing is said', () => {
    expect(unmeasuredBoundsWarning({ttft_ms: 500}, {stream: true, file: 'slo.yaml'})).toBeUndefined()
    expect(unmeasuredBoundsWarning({latency_ms: 500}, {stream: false, file: 'slo.yaml'})).toBeUndefined()
    expect(unmeasuredBoundsWarning({ttft_ms: 500, itl_ms: 50}, {stream: false, file: 'slo.yaml'})).toMatch(/^--slo-file slo\.yaml: ttft_ms and itl_ms cannot be measured with --no-stream.*every successful request counts as met/)
    expect(unmeasuredBoundsWarning({ttft_ms: 500, latency_ms: 9000}, {stream: false, file: 'slo.yaml'})).toMatch(/ttft_ms cannot .*judged on latency_ms only/)
  })
})
