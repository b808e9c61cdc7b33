import {create, meanDependencies, quantileSeqDependencies, stdDependencies} from 'mathjs/number'
import {summarize} from '../../src/summary/stats.js'

const math = create({quantileSeqDependencies, stdDependencies, meanDependencies})

describe('summarize', () => {
  test('matches mathjs (linear percentiles, population stddev) on random data', () => {
    let seed = 7
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 1000
    const values = Array.from({length: 1001}, rand)
    const s = summarize(values)
    const [p50, p90, p95, p99] = math.quantileSeq(values, [0.5, 0.9, 0.95, 0.99]) as number[]
    expect(s.p50).toBeCloseTo(p50, 9)
    expect(s.p90).toBeCloseTo(p90, 9)
    expect(s.p95).toBeCloseTo(p95, 9)
    expect(s.p99).toBeCloseTo(p99, 9)
    expect(s.avg).toBeCloseTo(math.mean(values), 9)
    expect(s.stddev).toBeCloseTo(math.std(values, 'uncorrected') as unknown as number, 9)
    expect(s.min).toBe(Math.min(...values))
    expect(s.max).toBe(Math.max(...values))
    expect(s.count).toBe(1001)
  })

  test('hand-computed small case', () => {
    const s = summarize([4, 1, 3, 2])
    expect(s.p50).toBe(2.5)
    expect(s.p90).toBeCloseTo(3.7, 12)
    expect(s.avg).toBe(2.5)
    expect(s.stddev).toBeCloseTo(Math.sqrt(1.25), 12)
  })

  test('missing observations are skipped; no observations gives nulls, not zeros', () => {
    expect(summarize([undefined, 5, null, Number.NaN]).count).toBe(1)
    const empty = summarize([])
    expect(empty.count).toBe(0)
    expect(empty.avg).toBeNull()
    expect(empty.p99).toBeNull()
  })
})
