import {findRound, levelsOf, type LoadedSummary, type RunResults} from './model.js'

/** A cold (round 1) and warm (round 2) value and how many times faster warm is (cold / warm). */
export interface ColdWarm {
  cold: number | null
  warm: number | null
  /** cold / warm for times; null when either is missing or warm is 0. */
  speedup: number | null
}

/** The cold→warm effect of one concurrency level. */
export interface LevelSpeedup {
  concurrency: number
  ttft_avg: ColdWarm
  ttft_p50: ColdWarm
  ttft_p99: ColdWarm
  latency_p50: ColdWarm
  /** Share of prompt tokens served from cache (0–1), as the server reported it. */
  cached_share: {cold: number | null; warm: number | null}
  /** Output tokens/s; `speedup` is warm / cold here (higher is better). */
  output_tps: ColdWarm
}

const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null)

/**
 * Pure: per level that has both rounds, round 1 vs round 2 — the same speed-up definition as
 * summary/round-summary.ts `cacheEffect` (round 1 / round 2), extended to P99, latency and throughput.
 */
export function levelSpeedups(results: RunResults): LevelSpeedup[] {
  const out: LevelSpeedup[] = []
  for (const c of levelsOf(results)) {
    const cold = findRound(results, c, 1)?.summary
    const warm = findRound(results, c, 2)?.summary
    if (!cold || !warm) continue
    const time = (pick: (s: LoadedSummary) => number | null): ColdWarm => {
      const a = pick(cold)
      const b = pick(warm)
      return {cold: a, warm: b, speedup: ratio(a, b)}
    }
    const a = cold.throughput.output_tokens_per_s
    const b = warm.throughput.output_tokens_per_s
    out.push({
      concurrency: c,
      ttft_avg: time((s) => s.distributions.ttft.avg),
      ttft_p50: time((s) => s.distributions.ttft.p50),
      ttft_p99: time((s) => s.distributions.ttft.p99),
      latency_p50: time((s) => s.distributions.latency.p50),
      cached_share: {cold: cold.cache.cached_share, warm: warm.cache.cached_share},
      output_tps: {cold: a, warm: b, speedup: ratio(b, a)},
    })
  }
  return out
}
