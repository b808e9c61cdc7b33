import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {beforeAll, describe, expect, test} from '@jest/globals'
import {prefixSvgIds, renderCharts, reportCharts} from '../../src/report/charts.js'
import {configRows, scrubUrl} from '../../src/report/config-view.js'
import {escapeHtml, reportHtml} from '../../src/report/html.js'
import {t, ZH} from '../../src/output/i18n.js'
import {escapeMarkdown, reportMarkdown} from '../../src/report/markdown.js'
import type {RunResults} from '../../src/report/model.js'
import {levelSpeedups} from '../../src/report/speedup.js'
import {summaryTable} from '../../src/report/tables.js'
import {loadFixture, OFF, ON} from './helpers.js'

let off: RunResults
let on: RunResults
let offHtml: string

beforeAll(async () => {
  off = await loadFixture(OFF)
  on = await loadFixture(ON)
  offHtml = reportHtml(off, await renderCharts(reportCharts(off, 'en')), 'en')
})

/** metrics_summary.csv as {block → {row label → values}}; the fixtures' CSVs contain no quoted fields. */
function parseSummaryCsv(text: string): {header: string[]; blocks: Map<string, Map<string, number[]>>} {
  const lines = text.trim().split('\n')
  const header = lines[0].split(',')
  const blocks = new Map<string, Map<string, number[]>>()
  let current: Map<string, number[]> | undefined
  for (const line of lines.slice(1)) {
    const cells = line.split(',')
    if (line === '') current = undefined
    else if (cells.length === 1) blocks.set(cells[0], (current = new Map()))
    else current!.set(cells[0], cells.slice(1).map((c) => (c === '' ? Number.NaN : Number(c))))
  }
  return {header, blocks}
}

const clone = (r: RunResults): RunResults => structuredClone(r)

describe('summary table', () => {
  test.each([
    ['lmcache-off', OFF],
    ['lmcache-on', ON],
  ])('%s: same blocks, rows and numbers as its metrics_summary.csv', async (_name, dir) => {
    const results = await loadFixture(dir)
    const csv = parseSummaryCsv(await readFile(path.join(dir, 'metrics_summary.csv'), 'utf8'))
    const table = summaryTable(results, 'en')
    expect(table.header).toEqual(csv.header)
    expect(table.blocks.map((b) => b.title)).toEqual([...csv.blocks.keys()])
    for (const block of table.blocks) {
      const rows = csv.blocks.get(block.title)!
      expect(block.rows.map((r) => r.label)).toEqual([...rows.keys()])
      for (const row of block.rows) {
        const expected = rows.get(row.label)!
        row.cells.forEach((cell, i) => {
          if (Number.isNaN(expected[i])) expect(cell).toBe('-')
          else expect(Number(cell)).toBeCloseTo(expected[i], 2)
        })
      }
    }
  })

  test('a row keeps one number format so decimal points line up; Prometheus values get 4 decimals', () => {
    const table = summaryTable(on, 'en')
    const ttft = table.blocks.find((b) => b.title === 'TTFT (ms)')!
    expect(ttft.rows.find((r) => r.label === 'P50')!.cells).toEqual(['410', '100', '880', '875', '1400', '280'])
    expect(ttft.rows.find((r) => r.label === 'P90')!.cells).toEqual(['470.00', '130.00', '1180.00', '1137.50', '1950.00', '440.00'])
    const hit = table.blocks.find((b) => b.title === 'Prometheus: lmcache_hit_rate')!
    expect(hit.rows.find((r) => r.label === 'Round value')!.cells).toEqual(['0.0000', '0.9500', '0.0000', '0.9500', '0.0000', '0.9500'])
  })

  test('zh: the seed\'s terms for the corner, columns and stats; metric names untranslated', () => {
    const table = summaryTable(off, 'zh')
    expect(table.header).toEqual(['指标/轮次', '并发1-第1轮', '并发1-第2轮', '并发8-第1轮', '并发8-第2轮'])
    const ttft = table.blocks.find((b) => b.title === 'TTFT (ms)')!
    expect(ttft.rows.map((r) => r.label)).toEqual(['平均值', '中位数', 'P90', 'P99', '最小值', '最大值', '标准差', 'P95'])
    expect(table.blocks.map((b) => b.title)).toEqual(expect.arrayContaining(['吞吐量', 'Prometheus 指标: prefix_cache_hit_rate']))
    expect(t('Throughput', 'zh')).toBe('吞吐量')
    expect(t('no such label', 'zh')).toBe('no such label')
  })

  test('every label of the CSV blocks has a Chinese entry', () => {
    for (const block of summaryTable(off, 'en').blocks) {
      if (block.title.startsWith('Prometheus')) continue
      expect(ZH[block.title]).toBeDefined()
      for (const row of block.rows) expect([row.label, ZH[row.label]]).toEqual([row.label, expect.any(String)])
    }
  })
})

describe('cold → warm speed-ups', () => {
  test('round 1 / round 2 for times, round 2 / round 1 for throughput (hand-checked)', () => {
    const [c1, c8, c16] = levelSpeedups(on)
    expect(c1.concurrency).toBe(1)
    expect(c1.ttft_avg).toEqual({cold: 425, warm: 110, speedup: 425 / 110})
    expect(c1.ttft_p50.speedup).toBeCloseTo(4.1, 10)
    expect(c1.ttft_p99.speedup).toBeCloseTo(530 / 160, 10)
    expect(c1.latency_p50.speedup).toBeCloseTo(2190 / 1890, 10)
    expect(c1.cached_share).toEqual({cold: 0, warm: 0.95})
    expect(c1.output_tps.speedup).toBe(1)
    expect(c8.ttft_p50.speedup).toBeCloseTo(880 / 875, 10)
    expect(c16.ttft_p50.speedup).toBe(5)
  })

  test('a level with one round has no speed-up row', async () => {
    const partial = clone(on)
    partial.rounds = partial.rounds.filter((r) => !(r.concurrency === 16 && r.round === 2))
    expect(levelSpeedups(partial).map((s) => s.concurrency)).toEqual([1, 8])
  })
})

describe('report.html', () => {
  test('is one self-contained page: inline CSS and SVG, no script, no external resource', () => {
    expect(offHtml.startsWith('<!doctype html>')).toBe(true)
    expect(offHtml).toContain('<style>')
    expect(offHtml).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\((?!#)|@import/i)
    expect(offHtml).toContain("default-src 'none'")
    // 4 fixed charts + 2 Prometheus metrics of this run, each an inline SVG.
    expect(offHtml.match(/<figure class="chart"/g)).toHaveLength(6)
    expect(offHtml.match(/<svg /g)).toHaveLength(6)
  })

  test('ids are unique across the inlined SVGs, and every url(#id) points at one of them', () => {
    const ids = [...offHtml.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])
    expect(ids.length).toBeGreaterThan(0)
    expect(new Set(ids).size).toBe(ids.length)
    for (const [, ref] of offHtml.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(ref)
  })

  test('shows the speed-up table with hand-checked factors', async () => {
    const html = reportHtml(on, [], 'en')
    const row = html.match(/<tr><td>1<\/td>.*?<\/tr>/)![0]
    expect(row).toContain('<span class="cold">425.0</span> → <span class="warm">110.0</span><br><span class="speedup">3.86×</span>')
    expect(row).toContain('<span class="cold">410.0</span> → <span class="warm">100.0</span><br><span class="speedup">4.10×</span>')
    expect(row).toContain('0.0%</span> → <span class="warm">95.0%')
  })

  test('the per-level×round table has the CSV numbers in the right columns', () => {
    const header = offHtml.match(/<table class="summary"><thead><tr>(.*?)<\/tr>/)![1]
    expect(header).toBe('<th>Metric/Round</th><th>Concurrency 1 Round 1</th><th>Concurrency 1 Round 2</th><th>Concurrency 8 Round 1</th><th>Concurrency 8 Round 2</th>')
    const ttft = offHtml.slice(offHtml.indexOf('<th colspan="5">TTFT (ms)</th>'))
    expect(ttft).toMatch(/^<th colspan="5">TTFT \(ms\)<\/th><\/tr>\n<tr><td class="label">Avg<\/td><td>420<\/td><td>390<\/td><td>950<\/td><td>940<\/td><\/tr>\n<tr><td class="label">P50<\/td><td>400<\/td><td>380<\/td><td>900<\/td><td>900<\/td><\/tr>/)
    expect(offHtml).toContain('<tr><td class="label">Failed requests</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>')
  })

  test('escapes server and dataset text (errors, prompt previews, paths)', () => {
    expect(offHtml).not.toContain('<script>alert')
    expect(offHtml).not.toContain('<b>tags</b>')
    expect(offHtml).toContain('502 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; upstream reset')
    expect(offHtml).toContain('Tell me about &lt;b&gt;tags&lt;/b&gt; &amp; &quot;quotes&quot; | pipes')
    expect(offHtml).toContain('/work/data/long&lt;context&gt;&amp;more.jsonl')
    expect(escapeHtml(`<a href='x'>&</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;')
  })

  test('never shows a key or URL credentials, even if run.json held one', async () => {
    const leaky = clone(off)
    Object.assign(leaky.run.configuration, {
      api_key: 'sk-live-SECRET1',
      apiKey: 'sk-live-SECRET2',
      headers: {Authorization: 'Bearer SECRET3'},
      endpoint: 'https://bob:SECRET4@llm.example/v1/chat/completions?api_key=SECRET5&x=1',
    })
    const html = reportHtml(leaky, [], 'en')
    const md = reportMarkdown(leaky, 'en')
    for (const text of [html, md, offHtml]) expect(text).not.toMatch(/SECRET|s3cret|scraper|token=abc/)
    expect(html).not.toMatch(/<td>(api_key|apiKey|Authorization)<\/td>/)
    expect(md).not.toMatch(/`(api_key|apiKey)`/)
    expect(html).toContain('https://llm.example/v1/chat/completions?api_key=REDACTED&amp;x=1')
    expect(scrubUrl('not a url: user:pw@host')).toBe('not a url: user:pw@host')
    expect(configRows({maxOutputTokens: 256, concurrency: [1, 8]})).toEqual([
      {key: 'maxOutputTokens', value: '256'},
      {key: 'concurrency', value: '1, 8'},
    ])
  })

  test('says loudly when the run used the built-in simulator', () => {
    expect(offHtml).not.toContain('simulator-notice')
    const sim = clone(off)
    sim.run.simulator = {url: 'http://127.0.0.1:1234', note: 'built-in simulator: numbers describe the simulator, not a model server'}
    const html = reportHtml(sim, [], 'en')
    expect(html).toContain('<div class="notice" id="simulator-notice">⚠ BUILT-IN SIMULATOR: These numbers were measured against the built-in simulator, not a model server.')
    expect(reportMarkdown(sim, 'zh')).toContain('> **⚠ 内置模拟器**')
  })

  test('lists warnings of a partial run', () => {
    const partial = clone(off)
    partial.warnings = ['concurrency_8_round_2.json is missing: the run did not finish this round (interrupted?)']
    expect(reportHtml(partial, [], 'en')).toContain('<li>concurrency_8_round_2.json is missing: the run did not finish this round (interrupted?)</li>')
  })

  test('zh: the seed\'s terms throughout, html lang zh-CN', async () => {
    const html = reportHtml(off, await renderCharts(reportCharts(off, 'zh')), 'zh')
    expect(html).toContain('<html lang="zh-CN">')
    for (const term of ['指标/轮次', '并发1-第1轮', '并发8-第2轮', '平均值', '中位数', '最小值', '最大值', '标准差', '吞吐量', '测试配置', '冷启动 → 缓存命中']) {
      expect(html).toContain(term)
    }
    // Chart labels are translated too (they are SVG text).
    expect(html).toMatch(/<text[^>]*>第 1 轮（冷）<\/text>/)
  })
})

describe('charts', () => {
  test('one spec per chart with the right data; Prometheus charts only for metrics with values', () => {
    const charts = reportCharts(on, 'en')
    expect(charts.map((c) => c.id)).toEqual(['ttft', 'latency', 'token-throughput', 'request-throughput', 'prometheus-0', 'prometheus-1', 'prometheus-2'])
    const ttft = charts[0].spec as {data: {values: {concurrency: string; round: string; series: string; value: number}[]}}
    expect(ttft.data.values).toContainEqual({concurrency: '1', round: 'Round 2 (warm)', series: 'P50', value: 100})
    expect(ttft.data.values).toContainEqual({concurrency: '16', round: 'Round 1 (cold)', series: 'P99', value: 2500})
    expect(ttft.data.values).toHaveLength(12)
    const noProm = clone(on)
    for (const r of noProm.rounds) delete r.summary.prometheus
    for (const r of noProm.rounds) r.summary.goodput = null
    const plain = reportCharts(noProm, 'en')
    expect(plain.map((c) => c.id)).toEqual(['ttft', 'latency', 'token-throughput', 'request-throughput'])
    const tokens = plain[2].spec as {data: {values: {series: string}[]}}
    expect(new Set(tokens.data.values.map((v) => v.series))).toEqual(new Set(['Output tokens/s']))
  })

  test('clip-path ids are made chart-specific (vega numbers them from a resettable module counter)', () => {
    const svg = '<svg><defs><clipPath id="clip1"><path/></clipPath></defs><g clip-path="url(#clip1)"></g></svg>'
    expect(prefixSvgIds(svg, 'chart-ttft')).toBe('<svg><defs><clipPath id="chart-ttft-clip1"><path/></clipPath></defs><g clip-path="url(#chart-ttft-clip1)"></g></svg>')
  })

  test('renders to SVG in Node with drawn marks and escaped labels', async () => {
    const weird = clone(on)
    for (const r of weird.rounds) {
      const p = r.summary.prometheus!
      p.names = ['a<b>&"c"']
      p.round.values = {'a<b>&"c"': 0.5}
    }
    const [svg] = (await renderCharts(reportCharts(weird, 'en').slice(4))).map((c) => c.svg)
    expect(svg).toMatch(/^<svg /)
    expect(svg).toContain('class="mark-rect role-mark')
    expect(svg).toContain('a&lt;b&gt;&amp;')
    expect(svg).not.toContain('a<b>')
  })
})

describe('report.md', () => {
  test('GitHub tables in the seed layout, escaped cells', () => {
    const md = reportMarkdown(off, 'en')
    expect(md).toContain('| Metric/Round | Concurrency 1 Round 1 | Concurrency 1 Round 2 | Concurrency 8 Round 1 | Concurrency 8 Round 2 |')
    expect(md).toContain('| TTFT (ms)-P50 | 400 | 380 | 900 | 900 |')
    expect(md).toContain('| Throughput-Output tokens/s | 100 | 100 | 400 | 400 |')
    expect(md).toContain('| 1 | 420.0 → 390.0 (1.08×) | 400.0 → 380.0 (1.05×) |')
    expect(md).toContain('| 7 | s7 | Tell me about &lt;b&gt;tags&lt;/b&gt; &amp; "quotes" \\| pipes | http\\_5xx: 502 &lt;script&gt;')
    // Every table row has the same number of unescaped cell separators as its header.
    for (const table of md.split('\n\n').filter((b) => b.startsWith('| '))) {
      const counts = table.trim().split('\n').map((l) => l.replace(/\\\|/g, '').split('|').length)
      expect(new Set(counts).size).toBe(1)
    }
    expect(escapeMarkdown('a|b\nc_<d>')).toBe('a\\|b c\\_&lt;d&gt;')
  })

  test('zh', () => {
    const md = reportMarkdown(off, 'zh')
    expect(md).toContain('| 指标/轮次 | 并发1-第1轮 | 并发1-第2轮 | 并发8-第1轮 | 并发8-第2轮 |')
    expect(md).toContain('| TTFT (ms)-平均值 | 420 | 390 | 950 | 940 |')
    expect(md).toContain('| 吞吐量-Token 吞吐量 (tokens/s) | 100 | 100 | 400 | 400 |')
  })
})
