import {describe, expect, test} from '@jest/globals'

import {DualBenchError} from '../../src/errors.js'
import {parseExposition} from '../../src/metrics/parse.js'
import {parseRatio, parseSelector, resolveSelector, sampleFilter} from '../../src/metrics/selector.js'
import {fixture, fixtureText, parsed} from './fixtures.js'

describe('parseSelector', () => {
  test('bare name and all four matcher operators', () => {
    expect(parseSelector(' vllm:prefix_cache_hits ')).toEqual({text: 'vllm:prefix_cache_hits', name: 'vllm:prefix_cache_hits', matchers: []})
    expect(parseSelector('m{a="b", c!="d",e=~"x|y",f!~"z.*"}').matchers).toEqual([
      {label: 'a', op: '=', value: 'b'},
      {label: 'c', op: '!=', value: 'd'},
      {label: 'e', op: '=~', value: 'x|y'},
      {label: 'f', op: '!~', value: 'z.*'},
    ])
  })

  test('escaped quotes in a label value', () => {
    expect(parseSelector('m{a="say \\"hi\\""}').matchers[0].value).toBe('say "hi"')
  })

  test.each([
    ['{a="b"}', /expected a metric name/],
    ['m{a=b}', /must be in double quotes/],
    ['m{a="b"', /expected , or \}/],
    ['m{a~"b"}', /expected =, !=, =~ or !~/],
    ['m{a=~"("}', /not a valid regular expression/],
    ['m x', /unexpected "x"/],
  ])('rejects %s with an input error naming the flag', (spec, message) => {
    let error: unknown
    try {
      parseSelector(spec)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DualBenchError)
    expect((error as DualBenchError).exit).toBe(2)
    expect((error as DualBenchError).message).toMatch(/^--prometheus-metrics /)
    expect((error as DualBenchError).message).toMatch(message)
  })
})

describe('parseRatio', () => {
  test('name=A/B with selectors; a / inside a regex is not the divider', () => {
    const ratio = parseRatio('hit=m_hits{path=~"/v1/.*"}/m_queries{path=~"/v1/.*"}')
    expect(ratio.name).toBe('hit')
    expect(ratio.numerator).toMatchObject({name: 'm_hits', matchers: [{label: 'path', op: '=~', value: '/v1/.*'}]})
    expect(ratio.denominator).toMatchObject({name: 'm_queries'})
  })

  test.each(['hit', 'hit=a', '=a/b', 'hit=a/'])('rejects %s', (spec) => {
    expect(() => parseRatio(spec)).toThrow(/--prometheus-ratio/)
  })
})

describe('resolveSelector', () => {
  const vllm = fixture('vllm')

  test('sums a counter across label sets, with or without the _total suffix', () => {
    expect(resolveSelector(parseSelector('vllm:prefix_cache_hits'), vllm)).toEqual({type: 'counter', value: 10000, series: 2, family: 'vllm:prefix_cache_hits_total'})
    expect(resolveSelector(parseSelector('vllm:prefix_cache_hits_total'), vllm)).toMatchObject({value: 10000})
    // and the other way round, against OpenMetrics which names the family without _total
    const om = fixture('vllm-openmetrics')
    expect(resolveSelector(parseSelector('vllm:prefix_cache_hits_total'), om)).toEqual({type: 'counter', value: 10000, series: 2, family: 'vllm:prefix_cache_hits'})
  })

  test('label matchers select series', () => {
    const read = (spec: string) => resolveSelector(parseSelector(spec), vllm)
    expect(read('vllm:prefix_cache_hits{engine="1"}')).toMatchObject({value: 1000, series: 1})
    expect(read('vllm:prefix_cache_hits{engine!="1"}')).toMatchObject({value: 9000, series: 1})
    expect(read('vllm:request_success_total{finished_reason=~"stop|length",engine="0"}')).toMatchObject({value: 10, series: 2})
    expect(read('vllm:request_success_total{finished_reason!~"st.*"}')).toMatchObject({value: 1, series: 2})
    // regexes are anchored, as in PromQL
    expect(read('vllm:request_success_total{finished_reason=~"sto"}')).toMatchObject({value: 0, series: 0})
    // a label the series do not have reads as ""
    expect(read('vllm:prefix_cache_hits{missing=""}')).toMatchObject({value: 10000})
  })

  test('gauges sum; a gauge with no matching series is absent', () => {
    expect(resolveSelector(parseSelector('vllm:num_requests_waiting'), vllm)).toEqual({type: 'gauge', value: 3, series: 2, family: 'vllm:num_requests_waiting'})
    expect(resolveSelector(parseSelector('vllm:num_requests_waiting{engine="7"}'), vllm)).toBeUndefined()
  })

  test('a counter family with no series reads as 0 (SGLang before the first cache hit)', () => {
    expect(resolveSelector(parseSelector('sglang:cached_tokens_total'), fixture('sglang'))).toEqual({type: 'counter', value: 0, series: 0, family: 'sglang:cached_tokens_total'})
  })

  test('histograms give summed sum and count; _sum/_count read as counters', () => {
    expect(resolveSelector(parseSelector('vllm:time_to_first_token_seconds'), vllm)).toEqual({type: 'histogram', sum: 6, count: 15, series: 2, family: 'vllm:time_to_first_token_seconds'})
    expect(resolveSelector(parseSelector('vllm:time_to_first_token_seconds_count{engine="1"}'), vllm)).toEqual({type: 'counter', value: 5, series: 1, family: 'vllm:time_to_first_token_seconds'})
  })

  test('absent names, and _total tolerance applies to counters only', () => {
    expect(resolveSelector(parseSelector('lmcache_hit_rate'), vllm)).toBeUndefined()
    const exposition = parsed('# TYPE depth_total gauge\ndepth_total 4\n')
    expect(resolveSelector(parseSelector('depth'), exposition)).toBeUndefined()
  })

  test('the seed name lmcache_hit_rate still works for an exporter that exposes it', () => {
    const exposition = parsed('# TYPE lmcache_hit_rate gauge\nlmcache_hit_rate 0.85\n')
    expect(resolveSelector(parseSelector('lmcache_hit_rate'), exposition)).toMatchObject({type: 'gauge', value: 0.85})
  })
})

describe('sampleFilter (the probe parses only the lines its selectors need)', () => {
  test('resolving against a filtered parse gives the same readings', () => {
    const specs = [
      'vllm:prefix_cache_hits',
      'vllm:prefix_cache_queries_total{engine="1"}',
      'vllm:time_to_first_token_seconds',
      'vllm:time_to_first_token_seconds_count',
      'vllm:iteration_tokens_total',
      'vllm:kv_cache_usage_perc',
      'not_there',
    ]
    const selectors = specs.map((s) => parseSelector(s))
    for (const name of ['vllm', 'vllm-openmetrics'] as const) {
      const full = fixture(name)
      const text = fixtureText(name)
      const result = parseExposition(text, {keepSample: sampleFilter(selectors)})
      if (!result.ok) throw new Error(result.error)
      for (const selector of selectors) {
        expect([name, selector.text, resolveSelector(selector, result.exposition)]).toEqual([name, selector.text, resolveSelector(selector, full)])
      }
      const kept = [...result.exposition.families.values()].filter((f) => f.series.length > 0).map((f) => f.name)
      expect(kept).not.toContain('python_gc_objects_collected_total')
    }
  })

  test('an HTML body is still rejected when lines are filtered', () => {
    const result = parseExposition('<!DOCTYPE html>\n<html></html>\n', {keepSample: sampleFilter([parseSelector('a')])})
    expect(result.ok).toBe(false)
  })
})
