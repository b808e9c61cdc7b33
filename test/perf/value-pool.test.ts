import {ValuePool} from '../../src/perf/value-pool.js'
import {summarize} from '../../src/summary/stats.js'
import {createRng} from '../../src/prng.js'

/** A heavy-tailed, gap-like sample: many exact zeros (chunks sharing one socket read) and a log-normal body. */
function gapLike(n: number, seed: number): number[] {
  const rand = createRng(seed)
  return Array.from({length: n}, () => (rand() < 0.2 ? 0 : Math.exp(2 + 1.2 * (rand() + rand() + rand() - 1.5))))
}

const PCTS = ['p50', 'p90', 'p95', 'p99'] as const

describe('ValuePool (memory-bounded chunk-gap distribution)', () => {
  test('below the exact limit it equals summarize() exactly', () => {
    const values = gapLike(5000, 1)
    const pool = new ValuePool(10_000)
    for (const v of values) pool.add(v)
    expect(pool.approximate).toBe(false)
    expect(pool.stats()).toEqual(summarize(values))
  })

  test('past the limit: count/avg/min/max/stddev exact, percentiles within the stated 0.5 % relative error', () => {
    const values = gapLike(60_000, 2)
    const pool = new ValuePool(1000, 0.005)
    for (const v of values) pool.add(v)
    expect(pool.approximate).toBe(true)
    const exact = summarize(values)
    const got = pool.stats()
    expect(got.count).toBe(exact.count)
    expect(got.min).toBe(exact.min)
    expect(got.max).toBe(exact.max)
    expect(got.avg!).toBeCloseTo(exact.avg!, 9)
    expect(got.stddev!).toBeCloseTo(exact.stddev!, 9)
    for (const k of PCTS) {
      expect(Math.abs(got[k]! - exact[k]!)).toBeLessThanOrEqual(0.005 * exact[k]! + 1e-12)
    }
  })

  test('addGaps pools the gaps between chunk offsets, as chunkGapsMs does', () => {
    const pool = new ValuePool()
    pool.addGaps([10, 15, 35, 35])
    expect(pool.stats()).toEqual(summarize([5, 20, 0]))
  })

  test('merging per-worker pools gives the whole distribution (exact and sketched)', () => {
    const values = gapLike(30_000, 3)
    for (const limit of [100_000, 500]) {
      const parts = [new ValuePool(limit), new ValuePool(limit), new ValuePool(limit)]
      values.forEach((v, i) => parts[i % 3].add(v))
      parts[0].merge(parts[1])
      parts[0].merge(parts[2])
      const exact = summarize(values)
      const got = parts[0].stats()
      expect(got.count).toBe(values.length)
      expect(got.avg!).toBeCloseTo(exact.avg!, 9)
      expect(got.stddev!).toBeCloseTo(exact.stddev!, 9)
      for (const k of PCTS) expect(Math.abs(got[k]! - exact[k]!)).toBeLessThanOrEqual(0.005 * exact[k]! + 1e-12)
    }
  })
})
