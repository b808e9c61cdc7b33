/**
 * Pure: the validated list of what to read, from `--prometheus-metrics`, `--prometheus-ratio` and
 * `--prometheus-preset` together. Bad specs fail here, before anything is sent (exit 2).
 */
import {inputError} from '../errors.js'
import {getPreset} from './presets.js'
import {parseRatio, parseSelector, type RatioSpec, type Selector} from './selector.js'

export interface MetricSet {
  /** In output order: user metrics first, then the preset's. */
  metrics: Array<{selector: Selector; optional: boolean}>
  ratios: Array<{ratio: RatioSpec; optional: boolean}>
}

export interface MetricSetOptions {
  metrics?: string[]
  ratios?: string[]
  preset?: string
}

/** Parses and merges the three flags; duplicates are kept once (a user entry is never optional). */
export function buildMetricSet(opts: MetricSetOptions): MetricSet {
  const preset = opts.preset ? getPreset(opts.preset) : undefined
  const set: MetricSet = {metrics: [], ratios: []}
  const seenMetrics = new Set<string>()
  const seenRatios = new Set<string>()

  const addMetric = (spec: string, optional: boolean) => {
    const selector = parseSelector(spec)
    if (seenMetrics.has(selector.text)) return
    seenMetrics.add(selector.text)
    set.metrics.push({selector, optional})
  }
  const addRatio = (spec: string, optional: boolean) => {
    const ratio = parseRatio(spec)
    if (seenRatios.has(ratio.name)) {
      const existing = set.ratios.find((r) => r.ratio.name === ratio.name)
      if (existing && existing.ratio.text !== ratio.text) {
        throw inputError(`--prometheus-ratio "${ratio.name}" is defined twice (${existing.ratio.text} and ${ratio.text}).`, 'Give each ratio its own name.')
      }
      return
    }
    seenRatios.add(ratio.name)
    set.ratios.push({ratio, optional})
  }

  for (const spec of opts.metrics ?? []) addMetric(spec, false)
  for (const spec of opts.ratios ?? []) addRatio(spec, false)
  for (const entry of preset?.metrics ?? []) addMetric(entry.spec, entry.optional ?? false)
  for (const entry of preset?.ratios ?? []) addRatio(entry.spec, entry.optional ?? false)

  for (const {ratio} of set.ratios) {
    if (seenMetrics.has(ratio.name)) {
      throw inputError(`--prometheus-ratio name "${ratio.name}" is also a --prometheus-metrics entry.`, 'Rename the ratio, e.g. ' + `${ratio.name}_ratio=...`)
    }
  }
  return set
}

/** Output names: metric selectors (as written) then ratio names. */
export function metricSetNames(set: MetricSet): string[] {
  return [...set.metrics.map((m) => m.selector.text), ...set.ratios.map((r) => r.ratio.name)]
}
