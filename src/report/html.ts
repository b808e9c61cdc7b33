/**
 * Pure: RunResults (+ charts already rendered to SVG) → one self-contained report.html. Inline CSS, inline
 * SVG, no script, no external URL: it opens offline and can be mailed or attached to an issue as one file.
 */
import path from 'node:path'
import {fixed} from '../output/format.js'
import type {RenderedChart} from './charts.js'
import {configRows} from './config-view.js'
import {type Lang, roundColumnLabel, t} from '../output/i18n.js'
import type {RunResults} from './model.js'
import {type ColdWarm, levelSpeedups} from './speedup.js'
import {summaryTable} from './tables.js'

/**
 * HTML-escapes text for element content and quoted attributes. Hand-written because it is five fixed
 * replacements (no HTML-escaping library is a dependency); every dynamic string goes through it.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

const e = escapeHtml

const CSS = `
:root{color-scheme:light;--fg:#1d2430;--muted:#5b6472;--line:#d9dee5;--head:#f3f5f8;--cold:#D55E00;--warm:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:#fff}
main{max-width:1280px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 6px}
.meta{color:var(--muted);margin:0 0 12px}
.meta code{font-size:12px}
.notice{border:2px solid #b00020;background:#fff1f2;color:#7a0016;padding:10px 14px;border-radius:6px;margin:14px 0;font-weight:600}
.warnings{border:1px solid #e0b000;background:#fffbea;padding:8px 14px;border-radius:6px;margin:14px 0}
.warnings ul{margin:4px 0;padding-left:20px}
.hint{color:var(--muted);margin:4px 0 10px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px}
figure.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px;background:#fff}
figure.chart svg{display:block;max-width:100%;height:auto;margin:0 auto}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:var(--head);position:sticky;top:0;font-weight:600}
tr.block th{background:#fafbfc;text-align:left;font-weight:600;padding-top:10px;border-bottom:1px solid var(--line)}
td.label{padding-left:22px;color:#323a46}
table.summary thead th{white-space:normal;min-width:7.5em;vertical-align:bottom}
table.speedups td{vertical-align:top}
table.speedups .speedup{font-size:12.5px}
td.text,th.text{text-align:left;white-space:normal;word-break:break-word;max-width:520px}
.cold{color:var(--cold);font-weight:600}
.warm{color:var(--warm);font-weight:600}
.speedup{font-weight:700}
table.kv td{text-align:left;white-space:normal;overflow-wrap:anywhere}
table.kv td:first-child{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;width:1%;white-space:nowrap;overflow-wrap:normal}
footer{margin-top:36px;color:var(--muted);font-size:12px}
`

const times = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}×`)
const pct = (x: number | null, lang: Lang) => (x === null ? t('not reported', lang) : `${(100 * x).toFixed(1)}%`)

/** "cold → warm" with the speed-up under it; times with 1 decimal (sub-ms digits are noise in a summary). */
function coldWarmCell(v: ColdWarm, digits = 1): string {
  return `<td><span class="cold">${fixed(v.cold, digits)}</span> → <span class="warm">${fixed(v.warm, digits)}</span><br><span class="speedup">${times(v.speedup)}</span></td>`
}

function speedupSection(results: RunResults, lang: Lang): string {
  const rows = levelSpeedups(results)
  if (rows.length === 0) return ''
  const head = [
    t('Concurrency', lang),
    t('TTFT avg (ms)', lang),
    t('TTFT P50 (ms)', lang),
    t('TTFT P99 (ms)', lang),
    t('Latency P50 (ms)', lang),
    t('Output tokens/s', lang),
    t('Cached share', lang),
  ]
  const body = rows
    .map(
      (r) =>
        `<tr><td>${r.concurrency}</td>${coldWarmCell(r.ttft_avg)}${coldWarmCell(r.ttft_p50)}${coldWarmCell(r.ttft_p99)}${coldWarmCell(r.latency_p50)}${coldWarmCell(r.output_tps)}` +
        `<td><span class="cold">${e(pct(r.cached_share.cold, lang))}</span> → <span class="warm">${e(pct(r.cached_share.warm, lang))}</span></td></tr>`,
    )
    .join('\n')
  return `<section id="speedup"><h2>${e(t('Cold → warm', lang))}</h2>
<p class="hint">${e(t('Round 1 is cold (cache miss), round 2 sends the same requests again (cache hit). The factor with each pair is how many times better round 2 is: round 1 / round 2 for times, round 2 / round 1 for throughput.', lang))}</p>
<div class="scroll"><table class="speedups"><thead><tr>${head.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>
${body}
</tbody></table></div></section>`
}

function chartsSection(charts: RenderedChart[], lang: Lang): string {
  if (charts.length === 0) return ''
  const figures = charts
    .map((c) => `<figure class="chart" data-chart="${e(c.id)}" role="img" aria-label="${e(c.title)}">${c.svg}</figure>`)
    .join('\n')
  return `<section id="charts"><h2>${e(t('Charts', lang))}</h2><div class="charts">\n${figures}\n</div></section>`
}

function summarySection(results: RunResults, lang: Lang): string {
  const table = summaryTable(results, lang)
  const span = table.header.length
  const body = table.blocks
    .map(
      (b) =>
        `<tr class="block"><th colspan="${span}">${e(b.title)}</th></tr>\n` +
        b.rows.map((r) => `<tr><td class="label">${e(r.label)}</td>${r.cells.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`).join('\n'),
    )
    .join('\n')
  return `<section id="results"><h2>${e(t('Results by level and round', lang))}</h2>
<div class="scroll"><table class="summary"><thead><tr>${table.header.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>
${body}
</tbody></table></div></section>`
}

function failuresSection(results: RunResults, lang: Lang): string {
  const failing = results.rounds.filter((r) => r.summary.failed_requests > 0)
  if (failing.length === 0) return `<section id="failures"><h2>${e(t('Failures', lang))}</h2><p>${e(t('No request failed.', lang))}</p></section>`
  const parts = failing.map((r) => {
    const cats = Object.entries(r.summary.failures)
      .map(([cat, f]) => `<tr><td>${e(cat)}</td><td>${f!.count}</td><td class="text">${e(f!.example)}</td></tr>`)
      .join('\n')
    const reqs = r.failedRequests
      .map(
        (q) =>
          `<tr><td>${q.index}</td><td class="text">${e(q.sampleId ?? '-')}</td><td class="text">${e(q.prompt ?? '-')}</td><td class="text">${e(q.error ?? '-')}</td></tr>`,
      )
      .join('\n')
    const more = r.summary.failed_requests - r.failedRequests.length
    return `<h3>${e(roundColumnLabel(r.concurrency, r.round, lang))}: ${r.summary.failed_requests} / ${r.summary.total_requests}</h3>
<div class="scroll"><table><thead><tr><th>${e(t('Category', lang))}</th><th>${e(t('Count', lang))}</th><th class="text">${e(t('Example', lang))}</th></tr></thead><tbody>
${cats}
</tbody></table></div>
${reqs ? `<div class="scroll" style="margin-top:8px"><table><thead><tr><th>${e(t('Request', lang))}</th><th class="text">${e(t('Sample', lang))}</th><th class="text">${e(t('Prompt', lang))}</th><th class="text">${e(t('Error', lang))}</th></tr></thead><tbody>
${reqs}
</tbody></table></div>` : ''}${more > 0 && reqs ? `<p class="hint">… ${more} ${e(t('more not shown', lang))}</p>` : ''}`
  })
  return `<section id="failures"><h2>${e(t('Failures', lang))}</h2>\n${parts.join('\n')}\n</section>`
}

function configSection(results: RunResults, lang: Lang): string {
  const run = results.run
  const rows: {key: string; value: string}[] = [...configRows(run.configuration)]
  if (run.dataset) {
    rows.push({key: `${t('Dataset', lang)}`, value: run.dataset.path}, {key: 'sha256', value: run.dataset.sha256 ?? '-'}, {key: t('Samples', lang), value: String(run.dataset.samples ?? '-')})
  }
  const slo = run.slo && Object.keys(run.slo).length > 0 ? Object.entries(run.slo).map(([k, v]) => `${k} < ${v}`).join(', ') : t('no SLO given', lang)
  rows.push({key: t('SLO', lang), value: slo})
  const salts = Object.entries(run.salts).map(([c, s]) => `${c}: ${s ?? '-'}`).join('; ')
  if (salts) rows.push({key: t('Salts', lang), value: salts})
  rows.push({key: t('Tool version', lang), value: `${run.tool} ${run.version}`})
  const body = rows.map((r) => `<tr><td>${e(r.key)}</td><td>${e(r.value)}</td></tr>`).join('\n')
  return `<section id="configuration"><h2>${e(t('Configuration', lang))}</h2>
<div class="scroll"><table class="kv"><thead><tr><th>${e(t('Setting', lang))}</th><th class="text">${e(t('Value', lang))}</th></tr></thead><tbody>
${body}
</tbody></table></div></section>`
}

/** Pure: the whole report page. `charts` come from renderCharts(reportCharts(results, lang)). */
export function reportHtml(results: RunResults, charts: RenderedChart[], lang: Lang): string {
  const run = results.run
  const title = `${t('dual-bench report', lang)} — ${path.basename(path.resolve(results.dir))}`
  const model = typeof run.configuration.model === 'string' ? run.configuration.model : undefined
  const endpoint = typeof run.configuration.endpoint === 'string' ? configRows({endpoint: run.configuration.endpoint})[0].value : undefined
  const meta = [
    model && `<b>${e(model)}</b>`,
    endpoint && `<code>${e(endpoint)}</code>`,
    `${e(t('Started', lang))}: ${e(run.started_at ?? '-')}`,
    `${e(t('Ended', lang))}: ${e(run.ended_at ?? t('not finished', lang))}`,
  ]
    .filter(Boolean)
    .join(' · ')
  const simulator = run.simulator
    ? `<div class="notice" id="simulator-notice">⚠ ${e(t('BUILT-IN SIMULATOR', lang))}: ${e(t('These numbers were measured against the built-in simulator, not a model server.', lang))}</div>`
    : ''
  const warnings = results.warnings.length
    ? `<div class="warnings"><b>${e(t('Warnings', lang))}</b><ul>${results.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul></div>`
    : ''
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${e(title)}</title>
<style>${CSS}</style>
</head>
<body><main>
<h1>${e(title)}</h1>
<p class="meta">${meta}</p>
<p class="meta">${e(t('Run directory', lang))}: <code>${e(results.dir)}</code></p>
${simulator}
${warnings}
${speedupSection(results, lang)}
${chartsSection(charts, lang)}
${summarySection(results, lang)}
${failuresSection(results, lang)}
${configSection(results, lang)}
<footer>${e(run.tool)} ${e(run.version)}</footer>
</main></body>
</html>
`
}
