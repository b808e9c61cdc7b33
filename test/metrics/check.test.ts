import {describe, expect, test} from '@jest/globals'

import {DualBenchError} from '../../src/errors.js'
import {renderPromCheck} from '../../src/metrics/check-render.js'
import {checkMetrics, closestNames, levenshtein} from '../../src/metrics/check.js'
import {buildMetricSet, metricSetNames} from '../../src/metrics/metric-set.js'
import {PRESET_NAMES, getPreset, type PresetName} from '../../src/metrics/presets.js'
import type {ScrapeSuccess} from '../../src/metrics/scrape.js'
import {fixture, type FixtureName} from './fixtures.js'

const URL_ = 'http://127.0.0.1:9/metrics'

function scrapeOf(name: FixtureName): ScrapeSuccess {
  return {ok: true, status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', responseMs: 3.2, bytes: 100, exposition: fixture(name)}
}

describe('presets', () => {
  test.each([
    ['vllm', 'vllm'],
    ['sglang', 'sglang'],
    ['lmcache', 'lmcache'],
    ['llamacpp', 'llamacpp'],
  ] as [PresetName, FixtureName][])('%s: every metric and ratio of the preset is found in a %s exposition', (preset, fixtureName) => {
    const result = checkMetrics(URL_, scrapeOf(fixtureName), buildMetricSet({preset}))
    expect(result.metrics.filter((m) => !m.found).map((m) => m.selector)).toEqual([])
    expect(result.ratios.filter((r) => !r.usable)).toEqual([])
    expect(result.exitCode).toBe(0)
  })

  test('names are unique across metrics and ratios in every preset', () => {
    for (const name of PRESET_NAMES) {
      const names = metricSetNames(buildMetricSet({preset: name}))
      expect(new Set(names).size).toBe(names.length)
    }
  })

  test('an unknown preset is an input error listing the known ones', () => {
    expect(() => getPreset('tgi')).toThrow(DualBenchError)
    try {
      getPreset('tgi')
    } catch (e) {
      expect((e as DualBenchError).suggestions.join()).toContain('vllm, sglang, lmcache, llamacpp')
    }
  })

  test('the lmcache preset does not rely on the seed name lmcache_hit_rate or the interval gauge', () => {
    const specs = [...getPreset('lmcache').metrics, ...getPreset('lmcache').ratios].map((e) => e.spec).join(' ')
    expect(specs).not.toContain('lmcache_hit_rate=')
    expect(specs).not.toMatch(/lmcache:retrieve_hit_rate/)
  })
})

describe('buildMetricSet', () => {
  test('user entries first, then the preset; duplicates once and a user entry is never optional', () => {
    const set = buildMetricSet({metrics: ['vllm:external_prefix_cache_hits', 'my_gauge'], ratios: ['r=a/b'], preset: 'vllm'})
    const names = metricSetNames(set)
    expect(names.slice(0, 2)).toEqual(['vllm:external_prefix_cache_hits', 'my_gauge'])
    expect(names.filter((n) => n === 'vllm:external_prefix_cache_hits')).toHaveLength(1)
    expect(set.metrics[0].optional).toBe(false)
    expect(names).toContain('r')
    expect(names).toContain('prefix_cache_hit_rate')
  })

  test('a ratio named like a metric, or defined twice differently, is an input error', () => {
    expect(() => buildMetricSet({metrics: ['x'], ratios: ['x=a/b']})).toThrow(/also a --prometheus-metrics entry/)
    expect(() => buildMetricSet({ratios: ['r=a/b', 'r=c/d']})).toThrow(/defined twice/)
  })
})

describe('checkMetrics', () => {
  test('exit 0: reachable and everything found, with series, values and family counts', () => {
    const result = checkMetrics(URL_, scrapeOf('vllm'), buildMetricSet({metrics: ['vllm:prefix_cache_hits{engine="0"}', 'vllm:time_to_first_token_seconds']}))
    expect(result.exitCode).toBe(0)
    expect(result.reachable).toBe(true)
    expect(result.families.byType).toMatchObject({histogram: 2, counter: 8})
    expect(result.metrics[0]).toMatchObject({found: true, type: 'counter', family: 'vllm:prefix_cache_hits_total', value: 9000, series: [{labels: {engine: '0'}, value: 9000}]})
    expect(result.metrics[1]).toMatchObject({found: true, type: 'histogram', value: 0.4})
  })

  test('exit 2: a missing metric, with close names present in the scrape', () => {
    const result = checkMetrics(URL_, scrapeOf('vllm'), buildMetricSet({metrics: ['vllm:prefix_cache_hit', 'vllm:gpu_cache_usage_perc', 'vllm:kv_cache_usage_perc']}))
    expect(result.exitCode).toBe(2)
    expect(result.metrics[0].suggestions[0]).toBe('vllm:prefix_cache_hits_total')
    expect(result.metrics[1].suggestions).toContain('vllm:kv_cache_usage_perc')
    expect(result.metrics[2].found).toBe(true)
  })

  test('the seed name lmcache_hit_rate against a real LMCache exposition suggests its hit-rate names', () => {
    const result = checkMetrics(URL_, scrapeOf('lmcache'), buildMetricSet({metrics: ['lmcache_hit_rate']}))
    expect(result.exitCode).toBe(2)
    expect(result.metrics[0].suggestions).toEqual(expect.arrayContaining(['lmcache:retrieve_hit_rate', 'lmcache:lookup_hit_rate']))
  })

  test('optional preset entries that are absent do not fail the check', () => {
    const result = checkMetrics(URL_, scrapeOf('vllm-openmetrics'), buildMetricSet({metrics: ['vllm:prefix_cache_hits', 'vllm:external_prefix_cache_hits'], preset: undefined}))
    expect(result.exitCode).toBe(2) // user asked for it explicitly
    const preset = checkMetrics(URL_, scrapeOf('vllm'), buildMetricSet({preset: 'vllm'}))
    expect(preset.exitCode).toBe(0)
    const older = checkMetrics(
      URL_,
      {...scrapeOf('vllm'), exposition: withoutFamilies(fixture('vllm'), /external/)},
      buildMetricSet({preset: 'vllm'}),
    )
    expect(older.exitCode).toBe(0)
    expect(older.metrics.find((m) => m.selector === 'vllm:external_prefix_cache_hits')).toMatchObject({found: false, optional: true})
  })

  test('a ratio over a gauge is unusable (exit 2)', () => {
    const result = checkMetrics(URL_, scrapeOf('vllm'), buildMetricSet({ratios: ['x=vllm:kv_cache_usage_perc/vllm:prefix_cache_queries']}))
    expect(result.exitCode).toBe(2)
    expect(result.ratios[0]).toMatchObject({usable: false, problem: 'vllm:kv_cache_usage_perc is a gauge, not a counter'})
  })

  test('exit 1: unreachable, non-200 or unparsable', () => {
    const set = buildMetricSet({metrics: ['a']})
    const refused = checkMetrics(URL_, {ok: false, kind: 'connection', message: 'ECONNREFUSED', responseMs: 1}, set)
    expect(refused).toMatchObject({exitCode: 1, reachable: false, error: {kind: 'connection'}})
    const notFound = checkMetrics(URL_, {ok: false, kind: 'http_status', status: 404, message: 'HTTP 404', responseMs: 1}, set)
    expect(notFound).toMatchObject({exitCode: 1, reachable: true, status: 404})
  })

  test('a counter with matchers that match no series is found (reads 0) but carries a note', () => {
    const result = checkMetrics(URL_, scrapeOf('vllm'), buildMetricSet({metrics: ['vllm:prefix_cache_hits{model_name="typo"}']}))
    expect(result.metrics[0]).toMatchObject({found: true, value: 0, note: expect.stringContaining('no series match the label matchers')})
  })
})

describe('renderPromCheck', () => {
  test('shows status, families, series, suggestions and the verdict', () => {
    const text = renderPromCheck(
      checkMetrics(URL_, scrapeOf('vllm'), buildMetricSet({metrics: ['vllm:prefix_cache_hits', 'vllm:prefix_cache_hit'], ratios: ['hr=vllm:prefix_cache_hits/vllm:prefix_cache_queries']})),
    )
    expect(text).toContain('Status     HTTP 200 in 3.2 ms, text/plain; version=0.0.4; charset=utf-8')
    expect(text).toMatch(/Families {3}\d+ \(8 counter, \d+ gauge, 2 histogram, 0 summary, 0 untyped\)/)
    expect(text).toContain('  vllm:prefix_cache_hits  counter via vllm:prefix_cache_hits_total, 2 series, now 10000')
    expect(text).toContain('    {engine="1",model_name="Qwen/Qwen3-8B"} 1000')
    expect(text).toContain('  vllm:prefix_cache_hit  MISSING')
    expect(text).toContain('    did you mean: vllm:prefix_cache_hits_total')
    expect(text).toContain('  hr = Δvllm:prefix_cache_hits / Δvllm:prefix_cache_queries  ok')
    expect(text).toContain('Result     missing: vllm:prefix_cache_hit (exit 2)')
  })

  test('an unreachable endpoint', () => {
    const text = renderPromCheck(checkMetrics(URL_, {ok: false, kind: 'timeout', message: 'no complete response within 2000 ms', responseMs: 2001}, buildMetricSet({})))
    expect(text).toContain('Status     no response in 2001 ms')
    expect(text).toContain('Problem    timeout: no complete response within 2000 ms')
    expect(text).toContain('Result     endpoint not usable (exit 1)')
  })
})

test('closestNames and levenshtein', () => {
  expect(levenshtein('kitten', 'sitting')).toBe(3)
  expect(closestNames('prefix_cache_hits', ['vllm:prefix_cache_hits_total', 'process_cpu_seconds_total', 'vllm:num_requests_running'])).toEqual(['vllm:prefix_cache_hits_total'])
  expect(closestNames('zzz', ['vllm:prefix_cache_hits_total'])).toEqual([])
})

function withoutFamilies(exposition: ReturnType<typeof fixture>, drop: RegExp) {
  return {...exposition, families: new Map([...exposition.families].filter(([name]) => !drop.test(name)))}
}
