/**
 * Pure: `--prometheus-metrics` selectors and `--prometheus-ratio` specs, and resolving a selector against
 * a parsed scrape to one number.
 *
 * The selector grammar is the instant-vector subset of PromQL: `name{a="b",c!="d",e=~"re",f!~"re"}`.
 * It is hand-written because the only maintained JS PromQL parser (@prometheus-io/lezer-promql) is a
 * full grammar for editors, a large dependency for one line of syntax.
 */
import {inputError} from '../errors.js'
import type {Exposition, Labels, MetricFamily, MetricType} from './parse.js'

export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface LabelMatcher {
  label: string
  op: MatchOp
  value: string
}

/** A parsed `--prometheus-metrics` entry. `text` (trimmed) is the key the value is reported under. */
export interface Selector {
  text: string
  name: string
  matchers: LabelMatcher[]
}

/** A parsed `--prometheus-ratio name=A/B`: reported as ΔA/ΔB. */
export interface RatioSpec {
  text: string
  name: string
  numerator: Selector
  denominator: Selector
}

/**
 * What a selector read from one scrape: the sum over every matching series. Histograms and summaries
 * give their summed `_sum` and `_count`. `family` is the family actually read (it can differ from the
 * selector's name by a `_total` suffix); `series` is how many label sets were summed.
 */
export type Reading =
  | {type: 'counter' | 'gauge' | 'untyped'; value: number; series: number; family: string}
  | {type: 'histogram' | 'summary'; sum: number; count: number; series: number; family: string}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/
const FLAG = '--prometheus-metrics'

/** Parses a selector; throws an input error (exit 2) naming the flag and the problem. */
export function parseSelector(input: string, flag = FLAG): Selector {
  const text = input.trim()
  const fail = (why: string): never => {
    throw inputError(`${flag} "${input}": ${why}.`, 'Write a metric name, optionally with label matchers: vllm:prefix_cache_hits{model_name="m"}')
  }
  const nameMatch = NAME.exec(text)
  if (!nameMatch) fail('expected a metric name first')
  const name = nameMatch![0]
  let rest = text.slice(name.length).trim()
  const matchers: LabelMatcher[] = []
  if (rest === '') return {text, name, matchers}
  if (!rest.startsWith('{')) fail(`unexpected "${rest}" after the metric name`)
  rest = rest.slice(1).trim()
  while (!rest.startsWith('}')) {
    const label = LABEL.exec(rest)
    if (!label) fail('expected a label name inside {}')
    rest = rest.slice(label![0].length).trim()
    const op = (['=~', '!~', '!=', '='] as const).find((o) => rest.startsWith(o))
    if (!op) fail(`expected =, !=, =~ or !~ after label ${label![0]}`)
    rest = rest.slice(op!.length).trim()
    const quoted = readQuoted(rest)
    if (!quoted) fail(`the value of label ${label![0]} must be in double quotes`)
    if (op === '=~' || op === '!~') {
      try {
        new RegExp(quoted!.value)
      } catch {
        fail(`label ${label![0]}: "${quoted!.value}" is not a valid regular expression`)
      }
    }
    matchers.push({label: label![0], op: op!, value: quoted!.value})
    rest = quoted!.rest.trim()
    if (rest.startsWith(',')) rest = rest.slice(1).trim()
    else if (!rest.startsWith('}')) fail('expected , or } after a label matcher')
  }
  if (rest.slice(1).trim() !== '') fail(`unexpected "${rest.slice(1).trim()}" after }`)
  return {text, name, matchers}
}

/** Parses `name=A/B` (A and B are selectors; a `/` inside quotes or braces is not the divider). */
export function parseRatio(input: string): RatioSpec {
  const flag = '--prometheus-ratio'
  const text = input.trim()
  const fail = (why: string): never => {
    throw inputError(`${flag} "${input}": ${why}.`, 'Write name=HITS/QUERIES, e.g. hit_rate=vllm:prefix_cache_hits/vllm:prefix_cache_queries')
  }
  const eq = /^([a-zA-Z_][a-zA-Z0-9_:]*)\s*=/.exec(text)
  if (!eq) fail('expected name=NUMERATOR/DENOMINATOR')
  const body = text.slice(eq![0].length)
  const slash = topLevelSlash(body)
  if (slash < 0) fail('expected a / between the numerator and the denominator')
  const numerator = parseSelector(body.slice(0, slash), flag)
  const denominator = parseSelector(body.slice(slash + 1), flag)
  return {text, name: eq![1], numerator, denominator}
}

/** True when every matcher accepts the label set (a missing label reads as ""; PromQL regexes are anchored). */
export function matchesLabels(matchers: LabelMatcher[], labels: Labels): boolean {
  return matchers.every((m) => {
    const actual = labels[m.label] ?? ''
    switch (m.op) {
      case '=':
        return actual === m.value
      case '!=':
        return actual !== m.value
      case '=~':
        return anchored(m).test(actual)
      case '!~':
        return !anchored(m).test(actual)
    }
  })
}

const compiled = new WeakMap<LabelMatcher, RegExp>()

function anchored(m: LabelMatcher): RegExp {
  let re = compiled.get(m)
  if (!re) {
    re = new RegExp(`^(?:${m.value})$`)
    compiled.set(m, re)
  }
  return re
}

/**
 * Finds the family a selector names. Users copy names from docs that omit or include `_total`, so a
 * counter is found under either spelling. `name_sum`/`name_count` of a histogram or summary read as a
 * counter of that component.
 */
export function findFamily(
  exposition: Exposition,
  name: string,
): {family: MetricFamily; component?: 'sum' | 'count'} | undefined {
  const exact = exposition.families.get(name)
  if (exact) return {family: exact}
  const alternate = name.endsWith('_total') ? name.slice(0, -'_total'.length) : `${name}_total`
  const alt = exposition.families.get(alternate)
  if (alt && alt.type === 'counter') return {family: alt}
  for (const component of ['sum', 'count'] as const) {
    const suffix = `_${component}`
    if (!name.endsWith(suffix)) continue
    const base = exposition.families.get(name.slice(0, -suffix.length))
    if (base && (base.type === 'histogram' || base.type === 'summary')) return {family: base, component}
  }
  return undefined
}

/**
 * Reads a selector from a scrape: the sum over matching series, or `undefined` when the family is absent.
 * A counter or histogram family that exists but has no matching series reads as 0 (a labelled counter is
 * only printed after its first increment); a gauge with no matching series is `undefined`.
 */
export function resolveSelector(selector: Selector, exposition: Exposition): Reading | undefined {
  const found = findFamily(exposition, selector.name)
  if (!found) return undefined
  const {family, component} = found
  if (isDistributionFamily(family)) {
    const series = family.series.filter((s) => matchesLabels(selector.matchers, s.labels))
    const sum = series.reduce((acc, s) => acc + s.sum, 0)
    const count = series.reduce((acc, s) => acc + s.count, 0)
    if (component) return {type: 'counter', value: component === 'sum' ? sum : count, series: series.length, family: family.name}
    return {type: family.type, sum, count, series: series.length, family: family.name}
  }
  const series = family.series.filter((s) => matchesLabels(selector.matchers, s.labels))
  if (series.length === 0 && family.type !== 'counter') return undefined
  const value = series.reduce((acc, s) => acc + s.value, 0)
  return {type: family.type, value, series: series.length, family: family.name}
}

/** The series a selector matches, for display (prom-check). */
export function matchingSeries(
  selector: Selector,
  exposition: Exposition,
): {family: MetricFamily; type: MetricType; series: Array<{labels: Labels; value?: number; sum?: number; count?: number}>} | undefined {
  const found = findFamily(exposition, selector.name)
  if (!found) return undefined
  const {family, component} = found
  const type: MetricType = component ? 'counter' : family.type
  const series = isDistributionFamily(family)
      ? family.series
          .filter((s) => matchesLabels(selector.matchers, s.labels))
          .map((s) => (component ? {labels: s.labels, value: component === 'sum' ? s.sum : s.count} : {labels: s.labels, sum: s.sum, count: s.count}))
      : family.series.filter((s) => matchesLabels(selector.matchers, s.labels)).map((s) => ({labels: s.labels, value: s.value}))
  return {family, type, series}
}

/** Narrows a family to histogram/summary (a discriminant check on a destructured union does not narrow `series`). */
export function isDistributionFamily(family: MetricFamily): family is Extract<MetricFamily, {type: 'histogram' | 'summary'}> {
  return family.type === 'histogram' || family.type === 'summary'
}

/**
 * A `keepSample` test for parseExposition that keeps every sample line `findFamily` could read for these
 * selectors (either `_total` spelling, and a histogram's or summary's `_sum`/`_count`/`_bucket` lines).
 */
export function sampleFilter(selectors: Selector[]): (sampleName: string) => boolean {
  const wanted = new Set<string>()
  for (const {name} of selectors) {
    wanted.add(name)
    wanted.add(name.endsWith('_total') ? name.slice(0, -'_total'.length) : `${name}_total`)
    for (const suffix of ['_sum', '_count']) if (name.endsWith(suffix)) wanted.add(name.slice(0, -suffix.length))
  }
  const suffixes = ['_total', '_sum', '_count', '_bucket', '_created']
  return (sampleName) => wanted.has(sampleName) || suffixes.some((s) => sampleName.endsWith(s) && wanted.has(sampleName.slice(0, -s.length)))
}

function readQuoted(text: string): {value: string; rest: string} | undefined {
  if (!text.startsWith('"')) return undefined
  let value = ''
  for (let i = 1; i < text.length; i++) {
    const c = text[i]
    if (c === '\\' && i + 1 < text.length) {
      const next = text[++i]
      value += next === 'n' ? '\n' : next
    } else if (c === '"') {
      return {value, rest: text.slice(i + 1)}
    } else {
      value += c
    }
  }
  return undefined
}

function topLevelSlash(text: string): number {
  let depth = 0
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '\\') i++
      else if (c === '"') quoted = false
    } else if (c === '"') quoted = true
    else if (c === '{') depth++
    else if (c === '}') depth--
    else if (c === '/' && depth === 0) return i
  }
  return -1
}
