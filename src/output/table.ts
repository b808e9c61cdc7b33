import stringWidth from 'string-width'
import {latencyMs, outputSpeedTps, ttftMs} from '../record/derive.js'
import type {RequestRecord} from '../record/record.js'
import type {CacheEffect, RoundSummary} from '../summary/round-summary.js'
import {DISTRIBUTION_METRICS} from '../summary/round-summary.js'
import type {Stats} from '../summary/stats.js'
import {fixed} from './format.js'
import {type Lang, t} from './i18n.js'
import {SEED_STATS} from './summary-rows.js'

const NAME_W = 34
const COL_W = 14
const WIDE = '='.repeat(NAME_W + SEED_STATS.length * (COL_W + 1) + 1)

/** Pads to a display width: CJK characters take two terminal columns. */
const pad = (s: string, w: number) => {
  let out = s
  while (stringWidth(out) > w) out = out.slice(0, -1)
  return out + ' '.repeat(w - stringWidth(out))
}
const cells = (name: string, values: string[]) => `│ ${pad(name, NAME_W - 1)}│${values.map((v) => ` ${pad(v, COL_W - 1)}│`).join('')}`
const rule = (l: string, m: string, r: string) => `${l}${'─'.repeat(NAME_W)}${SEED_STATS.map(() => m + '─'.repeat(COL_W)).join('')}${r}`

/** The sentences of the terminal report; Chinese follows the seed's own wording. */
const PHRASES = {
  en: {
    header: (c: number, r: number) => `Concurrency: ${c} | ${r === 1 ? 'round 1 (cold)' : r === 2 ? 'round 2 (warm)' : `round ${r}`}`,
    counts: (s: RoundSummary) =>
      `Requests: ${s.total_requests} | Succeeded: ${s.successful_requests} | Failed: ${s.failed_requests} | Duration: ${fixed(s.duration_s)} s` +
      (s.complete ? '' : ` | INCOMPLETE: ${s.total_requests} of ${s.planned_requests} planned`),
    tokens: (inp: string, out: string, cached: string | null) =>
      `Avg input tokens: ${inp} | Avg output tokens: ${out} | Cached tokens: ${cached === null ? 'not reported by the server' : `${cached}% of prompt`}`,
    metric: 'Metric',
    prometheusRound: 'Prometheus over the round (start→end scrape)',
    reset: (names: string) => `  Counter reset (server restart?) in: ${names} — no delta reported`,
    throughput: 'Throughput:',
    tokenRates: (o: string, i: string, tot: string) => `  Output tokens/s: ${o} | Input tokens/s: ${i} | Total tokens/s: ${tot}`,
    requestRate: (r: string, err: string) => `  Requests/s: ${r} | Error rate: ${err}%`,
    chunkCounted: (n: number) => `  Note: output tokens of ${n} request(s) were counted from content chunks (the server sent no usage).`,
    retried: (n: number, a: number) => `  Retried: ${n} request(s), ${a} extra attempt(s) (--retries).`,
    goodput: (bounds: string) => `Goodput (SLO: ${bounds}):`,
    metRequests: (m: number, n: number, p: string) => `  SLO-met requests: ${m} / ${n} (${p}%)`,
    metTokens: (m: number, n: string, p: string) => `  SLO-met output tokens: ${m}${n} (${p}%)`,
    goodputRates: (tk: string, rq: string) => `  Goodput: ${tk} tokens/s, ${rq} requests/s`,
    noSlo: 'Goodput: no SLO given (--slo-file slo.yaml)',
    failures: 'Failures:',
    noStream: 'Non-streaming run (--no-stream): no TTFT, ITL or chunk gaps; latency and tokens only.',
  },
  zh: {
    header: (c: number, r: number) => `并发: ${c} | 第 ${r} 轮性能指标${r === 1 ? '（冷启动）' : r === 2 ? '（缓存命中）' : ''}`,
    counts: (s: RoundSummary) =>
      `总请求数: ${s.total_requests} | 成功: ${s.successful_requests} | 失败: ${s.failed_requests} | 测试时长: ${fixed(s.duration_s)} 秒` +
      (s.complete ? '' : ` | 未完成: 计划 ${s.planned_requests} 个请求`),
    tokens: (inp: string, out: string, cached: string | null) =>
      `平均输入 tokens: ${inp} | 平均输出 tokens: ${out} | 缓存 tokens: ${cached === null ? '服务器未上报' : `占 prompt 的 ${cached}%`}`,
    metric: '指标',
    prometheusRound: 'Prometheus 整轮值（开始→结束抓取）',
    reset: (names: string) => `  计数器重置（服务器重启？）: ${names} — 不报告差值`,
    throughput: 'Throughput:',
    tokenRates: (o: string, i: string, tot: string) => `  Token 吞吐量: ${o} tokens/sec | 输入: ${i} tokens/sec | 总计: ${tot} tokens/sec`,
    requestRate: (r: string, err: string) => `  Request 吞吐量: ${r} requests/sec | 错误率: ${err}%`,
    chunkCounted: (n: number) => `  注意: ${n} 个请求的输出 tokens 按内容分块计数（服务器未返回 usage）。`,
    retried: (n: number, a: number) => `  重试: ${n} 个请求，共 ${a} 次额外尝试 (--retries)。`,
    goodput: (bounds: string) => `Goodput (SLO: ${bounds}):`,
    metRequests: (m: number, n: number, p: string) => `  满足 SLO 的请求数: ${m} / ${n} (${p}%)`,
    metTokens: (m: number, n: string, p: string) => `  满足 SLO 的 tokens: ${m}${n} (${p}%)`,
    goodputRates: (tk: string, rq: string) => `  Goodput: ${tk} tokens/sec, ${rq} requests/sec`,
    noSlo: 'Goodput: 未指定 SLO (--slo-file slo.yaml)',
    failures: '失败请求:',
    noStream: '非流式测试 (--no-stream): 没有 TTFT、ITL 和分块间隔，只有总延迟和 tokens。',
  },
}

/** One stats row; `digits` 4 for ratios such as hit rates, 2 otherwise. */
export function statsRow(name: string, s: Stats, digits = 2): string {
  return cells(name, SEED_STATS.map(({key}) => fixed(s[key], digits)))
}

/** Pure: the seed's per-(level, round) table, plus throughput, goodput, cache and failures. */
export function roundTable(s: RoundSummary, opts: {lang?: Lang; stream?: boolean} = {}): string {
  const lang = opts.lang ?? 'en'
  const p = PHRASES[lang]
  const lines: string[] = [WIDE, p.header(s.concurrency, s.round), WIDE]
  lines.push(
    p.counts(s),
    p.tokens(
      fixed(s.distributions.input_tokens.avg, 1),
      fixed(s.distributions.output_tokens.avg, 1),
      s.cache.cached_share === null ? null : fixed(100 * s.cache.cached_share, 1),
    ),
  )
  if (opts.stream === false) lines.push(p.noStream)
  lines.push('-'.repeat(WIDE.length))
  lines.push(cells(p.metric, SEED_STATS.map((x) => t(x.label, lang))), rule('├', '┼', '┤'))
  for (const m of DISTRIBUTION_METRICS) {
    if (s.distributions[m.key].count === 0 && (m.key === 'cached_tokens' || m.key === 'chunk_gap' || opts.stream === false)) continue
    lines.push(statsRow(t(m.label, lang), s.distributions[m.key]))
  }
  for (const name of s.prometheus?.names ?? []) {
    if (s.prometheus!.per_request[name].count > 0) lines.push(statsRow(name, s.prometheus!.per_request[name], 4))
  }
  lines.push(rule('└', '┴', '┘'), '')
  if (s.prometheus) {
    const round = s.prometheus.round
    lines.push(`${p.prometheusRound}:`)
    for (const n of s.prometheus.names) {
      if (round.values[n] !== null) lines.push(`  ${pad(n, NAME_W + 8)} ${fixed(round.values[n], 4)}${round.types[n] ? `  (${round.types[n]})` : ''}`)
    }
    if (round.resets.length > 0) lines.push(p.reset(round.resets.join(', ')))
    lines.push('')
  }
  const errorRate = s.total_requests > 0 ? (100 * s.failed_requests) / s.total_requests : 0
  lines.push(
    p.throughput,
    p.tokenRates(fixed(s.throughput.output_tokens_per_s), fixed(s.throughput.input_tokens_per_s), fixed(s.throughput.total_tokens_per_s)),
    p.requestRate(fixed(s.throughput.requests_per_s), fixed(errorRate)),
  )
  if (s.token_sources.chunks > 0) lines.push(p.chunkCounted(s.token_sources.chunks))
  if (s.retries.requests > 0) lines.push(p.retried(s.retries.requests, s.retries.attempts))
  lines.push('')
  if (s.goodput) {
    const g = s.goodput
    const bounds = Object.entries(g.slo).map(([k, v]) => `${k} < ${v}`).join(', ')
    const totalTokens = g.met_output_tokens_pct > 0 ? Math.round((100 * g.met_output_tokens) / g.met_output_tokens_pct) : undefined
    lines.push(
      p.goodput(bounds),
      p.metRequests(g.met_requests, s.total_requests, fixed(g.met_requests_pct)),
      p.metTokens(g.met_output_tokens, totalTokens === undefined ? '' : ` / ${totalTokens}`, fixed(g.met_output_tokens_pct)),
      p.goodputRates(fixed(g.tokens_per_s), fixed(g.requests_per_s)),
    )
  } else {
    lines.push(p.noSlo)
  }
  if (s.errors.length > 0) {
    lines.push('', p.failures)
    for (const e of s.errors) lines.push(`  ${e.count} × ${e.category}: ${e.message}`)
  }
  return lines.join('\n')
}

const times = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}×`)

/** Pure: the cold→warm line of one level. */
export function cacheEffectLine(e: CacheEffect, cold: RoundSummary, warm: RoundSummary, lang: Lang = 'en'): string {
  const c = cold.distributions.ttft
  const w = warm.distributions.ttft
  const pct = (x: number | null) => (x === null ? (lang === 'zh' ? '未上报' : 'not reported') : `${(100 * x).toFixed(1)}%`)
  if (lang === 'zh') {
    return (
      `并发 ${e.concurrency} 冷→热: TTFT 平均值 ${fixed(c.avg)} → ${fixed(w.avg)} ms（快 ${times(e.ttft_avg_speedup)}），` +
      `中位数 ${fixed(c.p50)} → ${fixed(w.p50)} ms（${times(e.ttft_p50_speedup)}）；缓存 tokens 占比 ${pct(e.round1_cached_share)} → ${pct(e.round2_cached_share)}`
    )
  }
  return (
    `Concurrency ${e.concurrency} cold→warm: TTFT avg ${fixed(c.avg)} → ${fixed(w.avg)} ms (${times(e.ttft_avg_speedup)} faster), ` +
    `P50 ${fixed(c.p50)} → ${fixed(w.p50)} ms (${times(e.ttft_p50_speedup)}); cached tokens ${pct(e.round1_cached_share)} → ${pct(e.round2_cached_share)} of prompt`
  )
}

/** Pure: --show-samples — each output with its latency, tokens and speed (seed 000's sample printout). */
export function renderSamples(records: RequestRecord[]): string {
  return records
    .map((r, i) => {
      const head =
        `Sample ${i + 1} (C=${r.level}, round ${r.round}, ${r.sampleId}): latency ${fixed(latencyMs(r))} ms, TTFT ${fixed(ttftMs(r))} ms, ` +
        `${r.outputTokens ?? '-'} output tokens, ${fixed(outputSpeedTps(r), 1)} tokens/s`
      return `${head}\n  prompt: ${r.promptPreview}\n  output: ${(r.outputPreview ?? '').replace(/\s+/g, ' ').trim()}`
    })
    .join('\n')
}
