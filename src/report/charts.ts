/**
 * The report's charts as Vega-Lite specs (pure), and their rendering to static SVG in Node (`renderChartSvg`):
 * compile with vega-lite, run a headless vega View (renderer 'none': no canvas, no DOM) and serialise the
 * scenegraph. The SVG is inlined in the HTML, so the report needs no script, no CDN and no network to draw.
 */
import * as vega from 'vega'
import {compile, type TopLevelSpec} from 'vega-lite'
import {type Lang, roundName, t} from '../output/i18n.js'
import {levelsOf, type RunResults} from './model.js'
import {prometheusNames} from './tables.js'

export interface ChartSpec {
  /** Stable id (used as the figure's data-chart attribute). */
  id: string
  title: string
  spec: TopLevelSpec
}

/** One drawn point: a level, a round, a series and its value. */
interface Point {
  concurrency: string
  round: string
  series: string
  value: number
}

// Round colours are fixed so cold/warm read the same in every chart; Okabe–Ito, safe for colour-blind readers.
const COLD = '#D55E00'
const WARM = '#0072B2'
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, Noto Sans CJK SC, Microsoft YaHei, sans-serif'
// Total size including title and legends (autosize "fit"), so every chart has the same scale on the page.
const WIDTH = 540
const HEIGHT = 300
const AUTOSIZE = {type: 'fit' as const, contains: 'padding' as const}

const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  title: {fontSize: 14, anchor: 'start' as const, offset: 10},
  axis: {labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6'},
  legend: {labelFontSize: 11, titleFontSize: 11, orient: 'right' as const, labelLimit: 220},
  view: {stroke: '#cccccc'},
}

/** What a Prometheus round value is, by metric type (see metrics/probe.ts RoundPrometheus.values). */
const ROUND_VALUE_MEANING: Record<string, string> = {
  counter: 'Increase during the round',
  gauge: 'Value at round end',
  untyped: 'Value at round end',
  histogram: 'Mean of the round',
  summary: 'Mean of the round',
  ratio: 'Ratio of the round',
}

function roundColor(results: RunResults, lang: Lang) {
  const rounds = [...new Set(results.rounds.map((r) => r.round))].sort((a, b) => a - b)
  return {
    field: 'round',
    type: 'nominal' as const,
    title: t('Round', lang),
    scale: {domain: rounds.map((r) => roundName(r, lang)), range: rounds.map((r) => (r === 1 ? COLD : r === 2 ? WARM : '#009E73'))},
  }
}

function xLevels(results: RunResults, lang: Lang) {
  return {
    field: 'concurrency',
    type: 'ordinal' as const,
    title: t('Concurrency', lang),
    sort: levelsOf(results).map(String),
    axis: {labelAngle: 0},
  }
}

/** What every chart spec starts with: schema, title, size, theme and its data. */
function specBase(title: string, data: Point[]) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    autosize: AUTOSIZE,
    config: CONFIG,
    data: {values: data},
  }
}

/** A line per (round, series) over the levels: colour = round, dash + point shape = series. */
function linesSpec(results: RunResults, lang: Lang, title: string, yTitle: string, data: Point[], series: string[]): TopLevelSpec {
  return {
    ...specBase(title, data),
    mark: {type: 'line', point: {filled: true, size: 60}, strokeWidth: 2},
    encoding: {
      x: xLevels(results, lang),
      y: {field: 'value', type: 'quantitative', title: yTitle, scale: {zero: true}},
      color: roundColor(results, lang),
      strokeDash: {field: 'series', type: 'nominal', title: null, scale: {domain: series, range: [[1, 0], [6, 4], [2, 2]]}},
      shape: {field: 'series', type: 'nominal', title: null, scale: {domain: series, range: ['circle', 'triangle-up', 'square']}},
      detail: {field: 'series'},
    },
  } as TopLevelSpec
}

function points(results: RunResults, lang: Lang, series: {name: string; pick: (s: RunResults['rounds'][number]['summary']) => number | null}[]): Point[] {
  const out: Point[] = []
  for (const r of results.rounds) {
    for (const {name, pick} of series) {
      const value = pick(r.summary)
      if (value !== null && Number.isFinite(value)) out.push({concurrency: String(r.concurrency), round: roundName(r.round, lang), series: name, value})
    }
  }
  return out
}

/**
 * Pure: the report's charts for a run — TTFT and latency P50/P99 cold vs warm, token and request throughput
 * with goodput (when an SLO was given), and one chart per Prometheus metric that has round values.
 */
export function reportCharts(results: RunResults, lang: Lang): ChartSpec[] {
  const p50 = t('P50', lang) === 'P50' ? 'P50' : `P50 (${t('P50', lang)})`
  const charts: ChartSpec[] = []
  const line = (id: string, title: string, yTitle: string, series: {name: string; pick: (s: RunResults['rounds'][number]['summary']) => number | null}[]) => {
    const data = points(results, lang, series)
    if (data.length === 0) return
    const names = series.map((s) => s.name).filter((n) => data.some((d) => d.series === n))
    charts.push({id, title, spec: linesSpec(results, lang, title, yTitle, data, names)})
  }
  line('ttft', t('TTFT P50 / P99 by concurrency', lang), `TTFT (${t('ms', lang)})`, [
    {name: p50, pick: (s) => s.distributions.ttft.p50},
    {name: 'P99', pick: (s) => s.distributions.ttft.p99},
  ])
  line('latency', t('Latency P50 / P99 by concurrency', lang), t('Latency (ms)', lang), [
    {name: p50, pick: (s) => s.distributions.latency.p50},
    {name: 'P99', pick: (s) => s.distributions.latency.p99},
  ])
  const hasGoodput = results.rounds.some((r) => r.summary.goodput)
  line('token-throughput', t('Token throughput and goodput by concurrency', lang), t('tokens/s', lang), [
    {name: t('Output tokens/s', lang), pick: (s) => s.throughput.output_tokens_per_s},
    ...(hasGoodput ? [{name: t('Goodput tokens/s', lang), pick: (s: RunResults['rounds'][number]['summary']) => s.goodput?.tokens_per_s ?? null}] : []),
  ])
  line('request-throughput', t('Request throughput and goodput by concurrency', lang), t('requests/s', lang), [
    {name: t('Requests/s', lang), pick: (s) => s.throughput.requests_per_s},
    ...(hasGoodput ? [{name: t('Goodput requests/s', lang), pick: (s: RunResults['rounds'][number]['summary']) => s.goodput?.requests_per_s ?? null}] : []),
  ])

  prometheusNames(results).forEach(({name, type, ratio}, i) => {
    const data = points(results, lang, [{name, pick: (s) => s.prometheus?.round.values[name] ?? null}])
    if (data.length === 0) return
    const title = `${name} — ${t('per round', lang)}`
    // The name is in the title; the axis says what a round value of this type is (and stays short enough to fit).
    const yTitle = t(ROUND_VALUE_MEANING[type ?? ''] ?? 'Round value', lang)
    charts.push({
      id: `prometheus-${i}`,
      title,
      spec: {
        ...specBase(title, data),
        mark: {type: 'bar', cornerRadiusEnd: 2},
        encoding: {
          x: xLevels(results, lang),
          xOffset: {field: 'round', type: 'nominal', sort: roundColor(results, lang).scale.domain},
          y: {
            field: 'value',
            type: 'quantitative',
            title: yTitle,
            axis: ratio ? {format: '.0%'} : {},
            ...(ratio ? {scale: {domain: [0, 1]}} : {}),
          },
          color: roundColor(results, lang),
          tooltip: [{field: 'value', type: 'quantitative', format: ratio ? '.2%' : ',.4~f'}],
        },
      } as TopLevelSpec,
    })
  })
  return charts
}

/** Renders one spec to a standalone SVG string, in Node, with no DOM and no network. */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'})
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** A chart with its SVG, ready to inline. */
export interface RenderedChart {
  id: string
  title: string
  svg: string
}

/**
 * Gives every id inside an SVG (vega's clip paths) the chart's own prefix: SVGs inlined in one page share
 * one id space, and two charts' `clip1` would clip each other's marks.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
}

/** Renders charts to SVG (ids made unique per chart), in order. */
export async function renderCharts(charts: ChartSpec[]): Promise<RenderedChart[]> {
  return Promise.all(
    charts.map(async (c) => ({id: c.id, title: c.title, svg: prefixSvgIds(await renderChartSvg(c.spec), `chart-${c.id}`)})),
  )
}
