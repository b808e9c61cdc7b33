/** Pure: RunResults → report.md in GitHub Markdown (tables only, no charts), for READMEs, issues and PRs. */
import path from 'node:path'
import {fixed} from '../output/format.js'
import {configRows} from './config-view.js'
import {type Lang, roundColumnLabel, t} from '../output/i18n.js'
import type {RunResults} from './model.js'
import {type ColdWarm, levelSpeedups} from './speedup.js'
import {summaryTable} from './tables.js'

/**
 * Escapes text for a GitHub Markdown table cell or paragraph: one line, `|` and Markdown punctuation
 * backslash-escaped, `<`/`>`/`&` as entities so server or dataset text can never become HTML.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r?\n|\r/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#!~])/g, '\\$1')
}

const m = escapeMarkdown

function table(header: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  const sep = header.map((_, i) => ((align[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? ':---' : '---:'))
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

const times = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}×`)
const pct = (x: number | null, lang: Lang) => (x === null ? t('not reported', lang) : `${(100 * x).toFixed(1)}%`)

/** Pure: the whole report.md. */
export function reportMarkdown(results: RunResults, lang: Lang): string {
  const run = results.run
  const out: string[] = []
  out.push(`# ${m(t('dual-bench report', lang))} — ${m(path.basename(path.resolve(results.dir)))}`, '')
  const model = typeof run.configuration.model === 'string' ? run.configuration.model : undefined
  const endpoint = typeof run.configuration.endpoint === 'string' ? configRows({endpoint: run.configuration.endpoint})[0].value : undefined
  out.push(
    [model && `**${m(model)}**`, endpoint && m(endpoint), `${m(t('Started', lang))}: ${m(run.started_at ?? '-')}`, `${m(t('Ended', lang))}: ${m(run.ended_at ?? t('not finished', lang))}`]
      .filter(Boolean)
      .join(' · '),
    '',
  )
  if (run.simulator) {
    out.push(`> **⚠ ${m(t('BUILT-IN SIMULATOR', lang))}**: ${m(t('These numbers were measured against the built-in simulator, not a model server.', lang))}`, '')
  }
  if (results.warnings.length > 0) {
    out.push(`**${m(t('Warnings', lang))}**`, '', ...results.warnings.map((w) => `- ${m(w)}`), '')
  }

  const speedups = levelSpeedups(results)
  if (speedups.length > 0) {
    out.push(`## ${m(t('Cold → warm', lang))}`, '', m(t('Round 1 is cold (cache miss), round 2 sends the same requests again (cache hit). The factor with each pair is how many times better round 2 is: round 1 / round 2 for times, round 2 / round 1 for throughput.', lang)), '')
    const cw = (v: ColdWarm) => `${fixed(v.cold, 1)} → ${fixed(v.warm, 1)} (${times(v.speedup)})`
    out.push(
      table(
        [t('Concurrency', lang), t('TTFT avg (ms)', lang), t('TTFT P50 (ms)', lang), t('TTFT P99 (ms)', lang), t('Latency P50 (ms)', lang), t('Output tokens/s', lang), t('Cached share', lang)].map(m),
        speedups.map((r) => [
          String(r.concurrency),
          cw(r.ttft_avg),
          cw(r.ttft_p50),
          cw(r.ttft_p99),
          cw(r.latency_p50),
          cw(r.output_tps),
          m(`${pct(r.cached_share.cold, lang)} → ${pct(r.cached_share.warm, lang)}`),
        ]),
      ),
      '',
    )
  }

  // The seed's Markdown layout: one row per "block-stat" (TTFT-平均值), one column per (level, round).
  const st = summaryTable(results, lang)
  out.push(`## ${m(t('Results by level and round', lang))}`, '')
  out.push(table(st.header.map(m), st.blocks.flatMap((b) => b.rows.map((r) => [`${m(b.title)}-${m(r.label)}`, ...r.cells]))), '')

  const failing = results.rounds.filter((r) => r.summary.failed_requests > 0)
  out.push(`## ${m(t('Failures', lang))}`, '')
  if (failing.length === 0) out.push(m(t('No request failed.', lang)), '')
  for (const r of failing) {
    out.push(`### ${m(roundColumnLabel(r.concurrency, r.round, lang))}: ${r.summary.failed_requests} / ${r.summary.total_requests}`, '')
    out.push(
      table(
        [t('Category', lang), t('Count', lang), t('Example', lang)].map(m),
        Object.entries(r.summary.failures).map(([cat, f]) => [m(cat), String(f!.count), m(f!.example)]),
        ['l', 'r', 'l'],
      ),
      '',
    )
    if (r.failedRequests.length > 0) {
      out.push(
        table(
          [t('Request', lang), t('Sample', lang), t('Prompt', lang), t('Error', lang)].map(m),
          r.failedRequests.map((q) => [String(q.index), m(q.sampleId ?? '-'), m(q.prompt ?? '-'), m(q.error ?? '-')]),
          ['r', 'l', 'l', 'l'],
        ),
        '',
      )
      const more = r.summary.failed_requests - r.failedRequests.length
      if (more > 0) out.push(`… ${more} ${m(t('more not shown', lang))}`, '')
    }
  }

  out.push(`## ${m(t('Configuration', lang))}`, '')
  const rows = configRows(run.configuration).map((r) => [`\`${r.key.replace(/`/g, '')}\``, m(r.value)])
  if (run.dataset) rows.push([m(t('Dataset', lang)), m(`${run.dataset.path} (sha256 ${run.dataset.sha256 ?? '-'}; ${t('Samples', lang)}: ${run.dataset.samples ?? '-'})`)])
  const slo = run.slo && Object.keys(run.slo).length > 0 ? Object.entries(run.slo).map(([k, v]) => `${k} < ${v}`).join(', ') : t('no SLO given', lang)
  rows.push([m(t('SLO', lang)), m(slo)], [m(t('Tool version', lang)), m(`${run.tool} ${run.version}`)])
  out.push(table([t('Setting', lang), t('Value', lang)].map(m), rows, ['l', 'l']), '')
  return out.join('\n')
}
