/**
 * Pure: two runs (A, B — e.g. LMCache off vs on) → a typed comparison. For each (level, round) present in
 * both: the key metrics with A, B, B − A and B / A; per level a one-line verdict. A relative difference
 * below the noise threshold (default 5%) is called "no clear difference": two runs of the same setup differ
 * by a few percent, so smaller changes are not evidence of anything.
 */
import {scrubUrl} from './config-view.js'
import {findRound, levelsOf, type LoadedSummary, type RunResults} from './model.js'

export const DEFAULT_NOISE_THRESHOLD = 0.05

type Better = 'lower' | 'higher'

/** The compared metrics, in table order. */
export const COMPARE_METRICS: {key: string; label: string; better: Better; pick: (s: LoadedSummary) => number | null}[] = [
  {key: 'ttft_avg', label: 'TTFT avg (ms)', better: 'lower', pick: (s) => s.distributions.ttft.avg},
  {key: 'ttft_p50', label: 'TTFT P50 (ms)', better: 'lower', pick: (s) => s.distributions.ttft.p50},
  {key: 'ttft_p99', label: 'TTFT P99 (ms)', better: 'lower', pick: (s) => s.distributions.ttft.p99},
  {key: 'latency_p50', label: 'Latency P50 (ms)', better: 'lower', pick: (s) => s.distributions.latency.p50},
  {key: 'latency_p99', label: 'Latency P99 (ms)', better: 'lower', pick: (s) => s.distributions.latency.p99},
  {key: 'output_tokens_per_s', label: 'Output tokens/s', better: 'higher', pick: (s) => s.throughput.output_tokens_per_s},
  {key: 'requests_per_s', label: 'Requests/s', better: 'higher', pick: (s) => s.throughput.requests_per_s},
  {key: 'goodput_tokens_per_s', label: 'Goodput (tokens/s)', better: 'higher', pick: (s) => s.goodput?.tokens_per_s ?? null},
  {key: 'goodput_requests_per_s', label: 'Goodput (requests/s)', better: 'higher', pick: (s) => s.goodput?.requests_per_s ?? null},
]

/** How B compares with A on one metric. */
export interface MetricDelta {
  key: string
  label: string
  better: Better
  a: number | null
  b: number | null
  /** B − A. */
  delta: number | null
  /** B / A; null when A is 0 or either is missing. */
  ratio: number | null
  /** Relative to the noise threshold; null when either value is missing. */
  verdict: 'better' | 'worse' | 'no clear difference' | null
}

export interface RoundComparison {
  concurrency: number
  round: number
  metrics: MetricDelta[]
}

export interface LevelVerdict {
  concurrency: number
  /** TTFT P50 of round 2 (warm) and round 1 (cold), when both runs have that round. */
  ttft_p50_warm: MetricDelta | null
  ttft_p50_cold: MetricDelta | null
  /** Output tokens/s over the level's rounds present in both runs (total tokens / total duration). */
  output_throughput: MetricDelta | null
  /** Goodput tokens/s over the same rounds; null when either run had no SLO. */
  goodput: MetricDelta | null
  /** One line, e.g. "C=8: B is 2.4× faster to first token warm (P50), output throughput +12%, goodput +30%". */
  text: string
}

export interface RunSide {
  dir: string
  model: string | null
  endpoint: string | null
  simulator: boolean
}

export interface RunComparison {
  a: RunSide
  b: RunSide
  noise_threshold: number
  rounds: RoundComparison[]
  verdicts: LevelVerdict[]
  only_in_a: {concurrency: number; round: number}[]
  only_in_b: {concurrency: number; round: number}[]
  /** Differences in setup that make the comparison less like-for-like (dataset, model, simulator). */
  warnings: string[]
}

/** Pure: one metric's A/B comparison. */
export function metricDelta(key: string, label: string, better: Better, a: number | null, b: number | null, noise: number): MetricDelta {
  const both = a !== null && b !== null
  const delta = both ? b - a : null
  const ratio = both && a !== 0 ? b / a : null
  let verdict: MetricDelta['verdict'] = null
  if (both) {
    const rel = a === 0 ? (b === 0 ? 0 : Number.POSITIVE_INFINITY * Math.sign(b)) : (b - a) / Math.abs(a)
    if (Math.abs(rel) < noise) verdict = 'no clear difference'
    else verdict = (rel > 0) === (better === 'higher') ? 'better' : 'worse'
  }
  return {key, label, better, a, b, delta, ratio, verdict}
}

/** 0.05 → "5%", 0.025 → "2.5%". */
export const percentText = (fraction: number) => `${Number((fraction * 100).toFixed(2))}%`

const side = (r: RunResults): RunSide => ({
  dir: r.dir,
  model: typeof r.run.configuration.model === 'string' ? r.run.configuration.model : null,
  endpoint: typeof r.run.configuration.endpoint === 'string' ? scrubUrl(r.run.configuration.endpoint) : null,
  simulator: r.run.simulator !== null,
})

/** "2.4×" from 2 up, "1.35×" below, so small factors keep meaningful digits. */
export function formatFactor(x: number): string {
  return x >= 2 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`
}

/** "+12%", "−8%"; one decimal under 10% so a 2.5% change near the threshold does not read as 2% or 3%. */
export function signedPct(x: number): string {
  const pct = Math.abs(x) < 0.1 ? Math.round(Math.abs(x) * 1000) / 10 : Math.round(Math.abs(x) * 100)
  return `${x >= 0 ? '+' : '−'}${pct}%`
}

function ttftPhrase(d: MetricDelta | null, which: 'warm' | 'cold', short: boolean): string | null {
  if (!d || d.verdict === null) return null
  if (d.verdict === 'no clear difference') return short ? `${which}: no clear difference` : `no clear difference in time to first token ${which} (P50)`
  const factor = d.a! > d.b! ? d.a! / d.b! : d.b! / d.a!
  const x = `${Number.isFinite(factor) ? formatFactor(factor) : '∞×'} ${d.b! < d.a! ? 'faster' : 'slower'}`
  return short ? `${which}: ${x}` : `B is ${x} to first token ${which} (P50)`
}

function ratePhrase(d: MetricDelta | null, name: string): string | null {
  if (!d || d.verdict === null) return null
  if (d.verdict === 'no clear difference') return `${name}: no clear difference`
  if (d.a === 0) return `${name} 0 → ${d.b!.toFixed(1)}`
  return `${name} ${signedPct(d.b! / d.a! - 1)}`
}

/** A level's rate over several rounds: total amount / total time (rounds weighted by their duration); null if any amount is missing. */
function levelRate(rounds: LoadedSummary[], amount: (s: LoadedSummary) => number | null): number | null {
  let total = 0
  let time = 0
  for (const s of rounds) {
    const x = amount(s)
    if (x === null) return null
    total += x
    time += s.duration_s
  }
  return time > 0 ? total / time : null
}

/**
 * Pure: compares run B with run A. Levels are matched by concurrency and rounds by number; a (level, round)
 * written by only one run is listed in only_in_a / only_in_b. `noise` is a fraction (0.05 = 5%).
 */
export function compareRuns(a: RunResults, b: RunResults, opts: {noise?: number} = {}): RunComparison {
  const noise = opts.noise ?? DEFAULT_NOISE_THRESHOLD
  const rounds: RoundComparison[] = []
  const onlyInA: RunComparison['only_in_a'] = []
  const onlyInB: RunComparison['only_in_b'] = []
  for (const r of a.rounds) {
    const other = findRound(b, r.concurrency, r.round)
    if (!other) {
      onlyInA.push({concurrency: r.concurrency, round: r.round})
      continue
    }
    rounds.push({
      concurrency: r.concurrency,
      round: r.round,
      metrics: COMPARE_METRICS.map((m) => metricDelta(m.key, m.label, m.better, m.pick(r.summary), m.pick(other.summary), noise)),
    })
  }
  for (const r of b.rounds) if (!findRound(a, r.concurrency, r.round)) onlyInB.push({concurrency: r.concurrency, round: r.round})

  const verdicts: LevelVerdict[] = []
  for (const c of levelsOf(a)) {
    const shared = rounds.filter((r) => r.concurrency === c)
    if (shared.length === 0) continue
    const ttft = (round: number) => shared.find((r) => r.round === round)?.metrics.find((m) => m.key === 'ttft_p50') ?? null
    const sa = shared.map((r) => findRound(a, c, r.round)!.summary)
    const sb = shared.map((r) => findRound(b, c, r.round)!.summary)
    const outTokens = (s: LoadedSummary) => s.throughput.output_tokens_per_s * s.duration_s
    const goodTokens = (s: LoadedSummary) => s.goodput?.met_output_tokens ?? null
    const v: Omit<LevelVerdict, 'text'> = {
      concurrency: c,
      ttft_p50_warm: ttft(2),
      ttft_p50_cold: ttft(1),
      output_throughput: metricDelta('output_tokens_per_s', 'Output tokens/s', 'higher', levelRate(sa, outTokens), levelRate(sb, outTokens), noise),
      goodput: metricDelta('goodput_tokens_per_s', 'Goodput (tokens/s)', 'higher', levelRate(sa, goodTokens), levelRate(sb, goodTokens), noise),
    }
    const deltas = [v.ttft_p50_warm, v.ttft_p50_cold, v.output_throughput, v.goodput].filter((d) => d && d.verdict !== null)
    const warmPhrase = ttftPhrase(v.ttft_p50_warm, 'warm', false)
    // With a warm phrase, the cold one is appended in short form: "…warm (P50), cold: no clear difference".
    const phrases = [warmPhrase, ttftPhrase(v.ttft_p50_cold, 'cold', warmPhrase !== null), ratePhrase(v.output_throughput, 'output throughput'), ratePhrase(v.goodput, 'goodput')]
    const text =
      deltas.length === 0
        ? `C=${c}: nothing to compare (no values in both runs)`
        : deltas.every((d) => d!.verdict === 'no clear difference')
          ? `C=${c}: no clear difference (all within ${percentText(noise)})`
          : `C=${c}: ${phrases.filter(Boolean).join(', ')}`
    verdicts.push({...v, text})
  }

  const warnings: string[] = []
  const sha = (r: RunResults) => r.run.dataset?.sha256 ?? null
  if (sha(a) && sha(b) && sha(a) !== sha(b)) {
    warnings.push(`A and B used different datasets (sha256 ${sha(a)!.slice(0, 12)}… vs ${sha(b)!.slice(0, 12)}…): the requests differ.`)
  }
  const sa = side(a)
  const sb = side(b)
  if (sa.model && sb.model && sa.model !== sb.model) warnings.push(`A and B used different models (${sa.model} vs ${sb.model}).`)
  if (sa.simulator || sb.simulator) {
    warnings.push(`${sa.simulator && sb.simulator ? 'Both runs were' : sa.simulator ? 'A was' : 'B was'} measured against the built-in simulator, not a model server.`)
  }
  return {a: sa, b: sb, noise_threshold: noise, rounds, verdicts, only_in_a: onlyInA, only_in_b: onlyInB, warnings}
}
