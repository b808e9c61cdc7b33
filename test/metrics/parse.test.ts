import {describe, expect, test} from '@jest/globals'

import {parseExposition, parseValue, type MetricFamily} from '../../src/metrics/parse.js'
import {fixture, fixtureText, parsed} from './fixtures.js'

function family(name: string, exposition = fixture('vllm')): MetricFamily {
  const found = exposition.families.get(name)
  if (!found) throw new Error(`no family ${name}; have ${[...exposition.families.keys()].join(', ')}`)
  return found
}

describe('parseExposition: Prometheus text 0.0.4 (vLLM, Python prometheus_client)', () => {
  test('types come from # TYPE and values are numbers', () => {
    const exposition = fixture('vllm')
    expect(exposition.format).toBe('prometheus')
    expect(family('vllm:prefix_cache_hits_total').type).toBe('counter')
    expect(family('vllm:kv_cache_usage_perc').type).toBe('gauge')
    expect(family('vllm:time_to_first_token_seconds').type).toBe('histogram')
    expect(family('vllm:prefix_cache_hits_total').series).toEqual([
      {labels: {engine: '0', model_name: 'Qwen/Qwen3-8B'}, value: 9000},
      {labels: {engine: '1', model_name: 'Qwen/Qwen3-8B'}, value: 1000},
    ])
  })

  test('labelled histograms keep sum and count per label set (the library alone drops them)', () => {
    const ttft = family('vllm:time_to_first_token_seconds')
    expect(ttft.series).toEqual([
      {labels: {engine: '0', model_name: 'Qwen/Qwen3-8B'}, sum: 4.5, count: 10},
      {labels: {engine: '1', model_name: 'Qwen/Qwen3-8B'}, sum: 1.5, count: 5},
    ])
  })

  test('a histogram whose name ends in _total is still a histogram', () => {
    const iteration = family('vllm:iteration_tokens_total')
    expect(iteration.type).toBe('histogram')
    expect(iteration.series).toEqual([{labels: {engine: '0', model_name: 'Qwen/Qwen3-8B'}, sum: 20500, count: 10}])
  })

  test('_created series of 0.0.4 are their own gauge families, not part of the counter', () => {
    expect(family('vllm:prefix_cache_hits_created').type).toBe('gauge')
    expect(family('vllm:prefix_cache_hits_total').series).toHaveLength(2)
  })
})

describe('parseExposition: OpenMetrics', () => {
  test('a counter declared without _total collects its _total samples and ignores _created', () => {
    const exposition = fixture('vllm-openmetrics')
    expect(exposition.format).toBe('openmetrics')
    const hits = family('vllm:prefix_cache_hits', exposition)
    expect(hits.type).toBe('counter')
    expect(hits.series.map((s) => ('value' in s ? s.value : undefined))).toEqual([9000, 1000])
    expect(exposition.families.has('vllm:prefix_cache_hits_total')).toBe(false)
    expect(exposition.families.has('vllm:prefix_cache_hits_created')).toBe(false)
  })

  test('histogram with exemplars and _created; info metric kept as untyped sample', () => {
    const exposition = fixture('vllm-openmetrics')
    expect(family('vllm:time_to_first_token_seconds', exposition).series).toEqual([
      {labels: {engine: '0', model_name: 'Qwen/Qwen3-8B'}, sum: 4.5, count: 10},
    ])
    expect(family('vllm:cache_config_info', exposition).type).toBe('untyped')
  })

  test('nothing after # EOF is read', () => {
    const exposition = parsed('# TYPE a gauge\na 1\n# EOF\nthis is not a metric line at all\n')
    expect([...exposition.families.keys()]).toEqual(['a'])
  })
})

describe('parseExposition: other servers and edge cases', () => {
  test('SGLang: a declared counter with no samples yet still exists, with no series', () => {
    const cached = family('sglang:cached_tokens_total', fixture('sglang'))
    expect(cached).toEqual({name: 'sglang:cached_tokens_total', type: 'counter', help: 'Number of cached prompt tokens.', series: []})
  })

  test('llama.cpp: unlabelled series, and the last line is kept without a trailing newline', () => {
    const text = fixtureText('llamacpp')
    expect(text.endsWith('\n')).toBe(false)
    const exposition = fixture('llamacpp')
    expect(family('llamacpp:prompt_tokens_total', exposition).series).toEqual([{labels: {}, value: 3072}])
    expect(family('llamacpp:requests_deferred', exposition).series).toEqual([{labels: {}, value: 0}])
  })

  test('LMCache: labelled histogram and counters', () => {
    const exposition = fixture('lmcache')
    expect(family('lmcache:num_hit_tokens_total', exposition).series).toHaveLength(2)
    expect(family('lmcache:time_to_retrieve', exposition).series[0]).toMatchObject({sum: 0.8, count: 40})
  })

  test('summaries: quantile lines are skipped, sum and count kept', () => {
    const exposition = parsed(
      '# TYPE rpc_seconds summary\nrpc_seconds{quantile="0.5",svc="a"} 0.2\nrpc_seconds{quantile="0.9",svc="a"} 0.7\nrpc_seconds_sum{svc="a"} 12\nrpc_seconds_count{svc="a"} 40\n',
    )
    expect(family('rpc_seconds', exposition)).toMatchObject({type: 'summary', series: [{labels: {svc: 'a'}, sum: 12, count: 40}]})
  })

  test('special values, escaped label values, timestamps, CRLF line ends', () => {
    const exposition = parsed('# TYPE g gauge\r\ng{path="C:\\\\x",q="say \\"hi\\""} +Inf 1712345678000\r\nh NaN\r\ni -Inf\r\n')
    const g = family('g', exposition)
    expect(g.series).toEqual([{labels: {path: 'C:\\x', q: 'say "hi"'}, value: Number.POSITIVE_INFINITY}])
    const h = family('h', exposition)
    expect(h.type).toBe('untyped')
    expect('value' in h.series[0] && Number.isNaN(h.series[0].value)).toBe(true)
    expect(family('i', exposition).series).toEqual([{labels: {}, value: Number.NEGATIVE_INFINITY}])
  })

  test('an HTML page is rejected with the line it failed on', () => {
    const result = parseExposition('<!DOCTYPE html>\n<html><body>Not found</body></html>\n')
    expect(result.ok).toBe(false)
    expect(!result.ok && result.error).toMatch(/^line 1: invalid metric name/)
  })

  test('a malformed label set or a non-numeric value is rejected with its line number', () => {
    const bad = parseExposition('# TYPE a gauge\na 1\nb{x=unquoted} 2\n')
    expect(!bad.ok && bad.error).toMatch(/^line 3: malformed sample line: b\{x=unquoted\} 2$/)
    const value = parseExposition('a one\n')
    expect(!value.ok && value.error).toMatch(/^line 1: value "one" is not a number/)
  })

  test('an empty body is a valid exposition with no families', () => {
    expect(parsed('').families.size).toBe(0)
  })

  test('parseValue', () => {
    expect(parseValue('1.5e3')).toBe(1500)
    expect(parseValue('+Inf')).toBe(Number.POSITIVE_INFINITY)
    expect(parseValue('')).toBeUndefined()
    expect(parseValue('abc')).toBeUndefined()
  })
})
