import type {CacheEffect, RoundSummary} from '../summary/round-summary.js'
import {DISTRIBUTION_METRICS} from '../summary/round-summary.js'
import type {Stats} from '../summary/stats.js'
import {fixed} from './format.js'
import {SEED_STATS} from './summary-rows.js'

const WIDE = '='.repeat(120)
const NAME_W = 30
const COL_W = 14

const pad = (s: string, w: number) => (s.length >= w ? s.slice(0, w) : s + ' '.repeat(w - s.length))
const cells = (name: string, values: string[]) => `│ ${pad(name, NAME_W - 1)}│${values.map((v) => ` ${pad(v, COL_W - 1)}│`).join('')}`
const rule = (l: string, m: string, r: string) => `${l}${'─'.repeat(NAME_W)}${SEED_STATS.map(() => m + '─'.repeat(COL_W)).join('')}${r}`

/** One stats row; `digits` 4 for ratios such as hit rates, 2 otherwise. */
export function statsRow(name: string, s: Stats, digits = 2): string {
  return cells(name, SEED_STATS.map(({key}) => fixed(s[key], digits)))
}

/** Pure: the seed's per-(level, round) table, plus throughput, goodput, cache and failures. */
export function roundTable(s: RoundSummary, extraRows: string[] = []): string {
  const lines: string[] = []
  const label = s.round === 1 ? 'round 1 (cold)' : s.round === 2 ? 'round 2 (warm)' : `round ${s.round}`
  lines.push(WIDE, `Concurrency: ${s.concurrency} | ${label}`, WIDE)
  lines.push(
    `Requests: ${s.total_requests} | Succeeded: ${s.successful_requests} | Failed: ${s.failed_requests} | Duration: ${fixed(s.duration_s)} s`,
    `Avg input tokens: ${fixed(s.distributions.input_tokens.avg, 1)} | Avg output tokens: ${fixed(s.distributions.output_tokens.avg, 1)}` +
      (s.cache.cached_share === null ? ' | Cached tokens: not reported by the server' : ` | Cached tokens: ${fixed(100 * s.cache.cached_share, 1)}% of prompt`),
    '-'.repeat(120),
  )
  lines.push(cells('Metric', SEED_STATS.map((x) => x.label)), rule('├', '┼', '┤').replace('├', '├'))
  for (const m of DISTRIBUTION_METRICS) {
    if (s.distributions[m.key].count === 0 && (m.key === 'cached_tokens' || m.key === 'chunk_gap')) continue
    lines.push(statsRow(m.label, s.distributions[m.key]))
  }
  for (const name of s.prometheus?.names ?? []) lines.push(statsRow(name, s.prometheus!.per_request[name], 4))
  lines.push(...extraRows, rule('└', '┴', '┘'), '')
  if (s.prometheus) {
    const round = s.prometheus.round
    const parts = s.prometheus.names.map((n) => `${n}=${fixed(round.values[n], 4)}${round.types[n] ? ` (${round.types[n]})` : ''}`)
    lines.push(`Prometheus over the round (start→end scrape): ${parts.join(', ')}`)
    if (round.resets.length > 0) lines.push(`  Counter reset (server restart?) in: ${round.resets.join(', ')} — no delta reported`)
    lines.push('')
  }
  lines.push(
    'Throughput:',
    `  Output tokens/s: ${fixed(s.throughput.output_tokens_per_s)} | Input tokens/s: ${fixed(s.throughput.input_tokens_per_s)} | Total tokens/s: ${fixed(s.throughput.total_tokens_per_s)}`,
    `  Requests/s: ${fixed(s.throughput.requests_per_s)}`,
  )
  if (s.token_sources.chunks > 0) {
    lines.push(`  Note: output tokens of ${s.token_sources.chunks} request(s) were counted from content chunks (the server sent no usage).`)
  }
  lines.push('')
  if (s.goodput) {
    const g = s.goodput
    const bounds = Object.entries(g.slo).map(([k, v]) => `${k} < ${v}`).join(', ')
    const totalTokens = g.met_output_tokens_pct > 0 ? Math.round((100 * g.met_output_tokens) / g.met_output_tokens_pct) : undefined
    lines.push(
      `Goodput (SLO: ${bounds}):`,
      `  SLO-met requests: ${g.met_requests} / ${s.total_requests} (${fixed(g.met_requests_pct)}%)`,
      `  SLO-met output tokens: ${g.met_output_tokens}${totalTokens === undefined ? '' : ` / ${totalTokens}`} (${fixed(g.met_output_tokens_pct)}%)`,
      `  Goodput: ${fixed(g.tokens_per_s)} tokens/s, ${fixed(g.requests_per_s)} requests/s`,
    )
  } else {
    lines.push('Goodput: no SLO given (--slo-file slo.yaml)')
  }
  const failures = Object.entries(s.failures)
  if (failures.length > 0) {
    lines.push('', 'Failures:')
    for (const [category, f] of failures) lines.push(`  ${category}: ${f!.count} (e.g. ${JSON.stringify(f!.example)})`)
  }
  return lines.join('\n')
}

const times = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}×`)
const pct = (x: number | null) => (x === null ? 'not reported' : `${(100 * x).toFixed(1)}%`)

/** Pure: the cold→warm line of one level. */
export function cacheEffectLine(e: CacheEffect, cold: RoundSummary, warm: RoundSummary): string {
  const c = cold.distributions.ttft
  const w = warm.distributions.ttft
  return (
    `Concurrency ${e.concurrency} cold→warm: TTFT avg ${fixed(c.avg)} → ${fixed(w.avg)} ms (${times(e.ttft_avg_speedup)} faster), ` +
    `P50 ${fixed(c.p50)} → ${fixed(w.p50)} ms (${times(e.ttft_p50_speedup)}); cached tokens ${pct(e.round1_cached_share)} → ${pct(e.round2_cached_share)} of prompt`
  )
}
