import {afterEach, describe, expect, test} from '@jest/globals'
import {setTimeout as sleep} from 'node:timers/promises'
import {Counter, Gauge, Histogram, Registry} from 'prom-client'

import {DualBenchError} from '../../src/errors.js'
import {createPrometheusProbe, type ScrapeRef} from '../../src/metrics/probe.js'
import {nowMs} from '../../src/record/clock.js'
import {startMetricsServer, type MetricsServer} from './metrics-server.js'

/** A server-side counter pair exposed like vLLM does (0.0.4, labels per engine). */
function vllmLike(state: {hits: number; queries: number; running: number}) {
  return () =>
    [
      '# TYPE vllm:prefix_cache_hits_total counter',
      `vllm:prefix_cache_hits_total{engine="0",model_name="m"} ${state.hits}`,
      '# TYPE vllm:prefix_cache_queries_total counter',
      `vllm:prefix_cache_queries_total{engine="0",model_name="m"} ${state.queries}`,
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running{engine="0",model_name="m"} ${state.running}`,
      '',
    ].join('\n')
}

const servers: MetricsServer[] = []
async function serve(...args: Parameters<typeof startMetricsServer>): Promise<MetricsServer> {
  const server = await startMetricsServer(...args)
  servers.push(server)
  return server
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('createPrometheusProbe', () => {
  test('validates specs up front and lists names in output order', () => {
    const probe = createPrometheusProbe({url: 'http://127.0.0.1:1/metrics', metrics: ['a', 'b{x="1"}'], ratios: ['r=a/b']})
    expect(probe.names()).toEqual(['a', 'b{x="1"}', 'r'])
    expect(() => createPrometheusProbe({url: 'http://127.0.0.1:1/metrics', metrics: ['b{x=1}']})).toThrow(DualBenchError)
    expect(() => createPrometheusProbe({url: 'http://127.0.0.1:1/metrics', metrics: [], preset: 'nope'})).toThrow(/--prometheus-preset/)
  })
})

describe('shared scrapes', () => {
  test('64 concurrent "before" calls share one scrape', async () => {
    const server = await serve({render: vllmLike({hits: 0, queries: 0, running: 0}), delayMs: 30})
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:prefix_cache_hits']})
    const refs = await Promise.all(Array.from({length: 64}, () => probe.shared()))
    expect(new Set(refs.map((r) => r.id)).size).toBe(1)
    expect(server.scrapes).toBe(1)
    // and 64 "after" calls for requests that all completed now share the next one
    const completedAt = nowMs()
    const afters = await Promise.all(Array.from({length: 64}, () => probe.shared({startedAfterMs: completedAt})))
    expect(new Set(afters.map((r) => r.id)).size).toBe(1)
    expect(afters[0].startedAtMs).toBeGreaterThanOrEqual(completedAt)
    expect(server.scrapes).toBe(2)
  })

  test('a completed scrape is reused for "before" within the window, not after it', async () => {
    const server = await serve({render: vllmLike({hits: 0, queries: 0, running: 0})})
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:prefix_cache_hits'], shareWindowMs: 150})
    const first = await probe.shared()
    const again = await probe.shared()
    expect(again.id).toBe(first.id)
    await sleep(200)
    const later = await probe.shared()
    expect(later.id).not.toBe(first.id)
    expect(server.scrapes).toBe(2)
  })

  test('"after" never reuses a scrape that started before the request completed', async () => {
    const state = {hits: 0, queries: 0, running: 0}
    const server = await serve({render: vllmLike(state), delayMs: 200})
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:prefix_cache_hits']})

    const inFlight = probe.shared() // read by the server now, with hits = 0, answered 200 ms later
    await sleep(40)
    state.hits += 1 // the request's own increment lands on the server ...
    const completedAt = nowMs() // ... and then it completes, while that scrape is still in flight
    const [before, after, otherBefore] = await Promise.all([inFlight, probe.shared({startedAfterMs: completedAt}), probe.shared()])

    expect(otherBefore.id).toBe(before.id) // a "before" may join the in-flight scrape
    expect(after.id).not.toBe(before.id)
    expect(after.startedAtMs).toBeGreaterThanOrEqual(completedAt)
    expect(probe.requestValues(before, after)['vllm:prefix_cache_hits']).toBe(1)
  })

  test('under load: bounded scrape rate, every request sees its own increment, rounds are exact', async () => {
    const state = {hits: 0, queries: 0, running: 0}
    const server = await serve({render: vllmLike(state), delayMs: 5})
    const probe = createPrometheusProbe({
      url: server.url,
      metrics: ['vllm:prefix_cache_hits', 'vllm:num_requests_running'],
      ratios: ['hit_rate=vllm:prefix_cache_hits/vllm:prefix_cache_queries'],
      shareWindowMs: 50,
    })
    const workers = 32
    const perWorker = 8
    const roundStart = await probe.fresh()
    const startedAt = nowMs()
    const problems: string[] = []
    const scrapeIds = new Set<number>()

    await Promise.all(
      Array.from({length: workers}, async (_, w) => {
        for (let i = 0; i < perWorker; i++) {
          const before = await probe.shared()
          const sentAt = nowMs()
          if (before.completedAtMs > sentAt) problems.push(`before #${before.id} completed after the send`)
          state.running++
          await sleep((w * 7 + i * 13) % 30) // deterministic spread of request durations
          state.queries += 4
          state.hits += 3
          state.running--
          const endedAt = nowMs()
          const after = await probe.shared({startedAfterMs: endedAt})
          if (after.startedAtMs < endedAt) problems.push(`after #${after.id} started before the request completed`)
          const values = probe.requestValues(before, after)
          // every window contains at least this request's own increments
          if (!((values['vllm:prefix_cache_hits'] ?? 0) >= 3)) problems.push(`hits ${values['vllm:prefix_cache_hits']} < 3`)
          if (values.hit_rate !== 0.75) problems.push(`hit_rate ${values.hit_rate}`)
          scrapeIds.add(before.id).add(after.id)
        }
      }),
    )
    const elapsedMs = nowMs() - startedAt
    const roundEnd = await probe.fresh()

    expect(problems).toEqual([])
    const requests = workers * perWorker
    // At most one scrape starts per window (+ the two round scrapes); far fewer than one per request per side.
    expect(server.scrapes).toBeLessThanOrEqual(Math.ceil(elapsedMs / 50) + 3)
    expect(server.scrapes).toBeLessThan(requests / 2)
    expect(scrapeIds.size).toBeLessThanOrEqual(server.scrapes)

    const round = probe.roundValues(roundStart, roundEnd)
    expect(round.values['vllm:prefix_cache_hits']).toBe(3 * requests)
    expect(round.values.hit_rate).toBe(0.75)
    expect(round.values['vllm:num_requests_running']).toBe(0)
    expect(round.types).toEqual({'vllm:prefix_cache_hits': 'counter', 'vllm:num_requests_running': 'gauge', hit_rate: 'ratio'})
    expect(probe.health()).toMatchObject({failures: 0, resets: 0, requestsWithoutScrape: 0, scrapes: server.scrapes})
  })
})

describe('values from a prom-client registry', () => {
  test('counters sum across labels, gauges keep before and after, histograms give the mean of new observations', async () => {
    const registry = new Registry()
    const hits = new Counter({name: 'vllm:prefix_cache_hits_total', help: 'h', labelNames: ['engine'], registers: [registry]})
    const queries = new Counter({name: 'vllm:prefix_cache_queries_total', help: 'q', labelNames: ['engine'], registers: [registry]})
    const usage = new Gauge({name: 'vllm:kv_cache_usage_perc', help: 'u', labelNames: ['engine'], registers: [registry]})
    const ttft = new Histogram({name: 'vllm:time_to_first_token_seconds', help: 't', labelNames: ['engine'], buckets: [0.1, 1], registers: [registry]})
    hits.inc({engine: '0'}, 100)
    queries.inc({engine: '0'}, 1000)
    usage.set({engine: '0'}, 0.2)
    ttft.observe({engine: '0'}, 5)
    const server = await serve({render: () => registry.metrics(), contentType: registry.contentType})
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:kv_cache_usage_perc'], preset: 'vllm', shareWindowMs: 0})

    const start = await probe.fresh()
    hits.inc({engine: '0'}, 30)
    hits.inc({engine: '1'}, 10) // a new label set appears mid-round
    queries.inc({engine: '0'}, 50)
    queries.inc({engine: '1'}, 30)
    usage.set({engine: '0'}, 0.6)
    ttft.observe({engine: '0'}, 0.2)
    ttft.observe({engine: '1'}, 0.4)
    const end = await probe.fresh()

    const round = probe.roundValues(start, end)
    expect(round.values).toMatchObject({
      'vllm:prefix_cache_hits': 40,
      'vllm:prefix_cache_queries': 80,
      'vllm:kv_cache_usage_perc': 0.6,
      prefix_cache_hit_rate: 0.5,
    })
    expect(round.values['vllm:time_to_first_token_seconds']).toBeCloseTo(0.3, 10)
    expect(round.values['vllm:num_requests_running']).toBeNull() // not exposed by this server
    expect(round.types['vllm:time_to_first_token_seconds']).toBe('histogram')
    expect(round.before['vllm:prefix_cache_hits']).toMatchObject({type: 'counter', value: 100, series: 1})
    expect(round.after['vllm:prefix_cache_hits']).toMatchObject({value: 140, series: 2})

    const request = probe.requestValues(start, end)
    expect(request['vllm:kv_cache_usage_perc']).toBe(0.6)
    expect(request['vllm:kv_cache_usage_perc@before']).toBe(0.2)
    expect(probe.missing(end)).toEqual(expect.arrayContaining(['vllm:num_requests_running', 'vllm:num_requests_waiting']))
    expect(probe.missing(end)).not.toContain('vllm:external_prefix_cache_hits') // optional in the preset
  })
})

describe('faults never stop the benchmark', () => {
  test('a counter that goes down (server restart) is flagged, not a negative delta', async () => {
    const state = {hits: 5000, queries: 9000, running: 1}
    const server = await serve({render: vllmLike(state)})
    const warnings: string[] = []
    const probe = createPrometheusProbe({
      url: server.url,
      metrics: ['vllm:prefix_cache_hits'],
      ratios: ['hr=vllm:prefix_cache_hits/vllm:prefix_cache_queries'],
      shareWindowMs: 0,
      onWarning: (m) => warnings.push(m),
    })
    const before = await probe.fresh()
    Object.assign(state, {hits: 12, queries: 40})
    const after = await probe.fresh()
    const detail = probe.requestDetail(before, after)
    expect(detail.values).toMatchObject({'vllm:prefix_cache_hits': null, hr: null})
    expect(detail.resets).toEqual(['vllm:prefix_cache_hits', 'hr'])
    probe.requestDetail(before, after) // the same reset seen by another request is one event
    expect(probe.health().resets).toBe(2)
    expect(warnings.filter((w) => w.includes('went down'))).toHaveLength(2)
  })

  test('an endpoint that dies mid-run gives nulls, one warning and a count; dead-endpoint calls do not queue', async () => {
    const server = await serve({render: vllmLike({hits: 1, queries: 2, running: 0})})
    const warnings: string[] = []
    const probe = createPrometheusProbe({
      url: server.url,
      metrics: ['vllm:prefix_cache_hits', 'vllm:num_requests_running'],
      ratios: ['hr=vllm:prefix_cache_hits/vllm:prefix_cache_queries'],
      shareWindowMs: 0,
      failureBackoffMs: 5000,
      onWarning: (m) => warnings.push(m),
    })
    const before = await probe.shared()
    expect(before.ok).toBe(true)
    await server.close()

    const after = await probe.shared({startedAfterMs: nowMs()})
    expect(after.ok).toBe(false)
    expect(after.failure?.kind).toBe('connection')
    // the gauge's value before the request is still known
    expect(probe.requestValues(before, after)).toEqual({
      'vllm:prefix_cache_hits': null,
      'vllm:num_requests_running': null,
      'vllm:num_requests_running@before': 0,
      hr: null,
    })

    // During the back-off, requests get the failure at once instead of another attempt each.
    const scrapesSoFar = probe.health().scrapes
    const quick = await Promise.all(Array.from({length: 20}, (_, i) => (i % 2 ? probe.shared() : probe.shared({startedAfterMs: nowMs()}))))
    expect(quick.every((r: ScrapeRef) => r.id === after.id)).toBe(true)
    expect(probe.health().scrapes).toBe(scrapesSoFar)

    // Round scrapes still try.
    const roundEnd = await probe.fresh()
    expect(roundEnd.ok).toBe(false)
    const round = probe.roundValues(before, roundEnd)
    expect(round.values).toEqual({'vllm:prefix_cache_hits': null, 'vllm:num_requests_running': null, hr: null})
    expect(round.scrapes).toMatchObject({startOk: true, endOk: false})

    expect(probe.health()).toMatchObject({failures: 2, failureByKind: {connection: 2}, requestsWithoutScrape: 1})
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^Prometheus: scrape of http:\/\/127\.0\.0\.1:\d+\/metrics failed \(connection: ECONNREFUSED/)
  })

  test('a slow endpoint times out well before a request would', async () => {
    const server = await serve({render: vllmLike({hits: 0, queries: 0, running: 0})})
    server.mode = 'hang'
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:prefix_cache_hits'], timeoutMs: 300})
    const t0 = nowMs()
    const ref = await probe.shared()
    const waited = nowMs() - t0
    expect(ref).toMatchObject({ok: false, failure: {kind: 'timeout', message: 'no complete response within 300 ms'}})
    expect(waited).toBeGreaterThanOrEqual(250)
    expect(waited).toBeLessThan(2000)
  })

  test('recovery after failures is announced and values come back', async () => {
    const state = {hits: 10, queries: 20, running: 0}
    const server = await serve({render: vllmLike(state)})
    server.mode = 'status500'
    const warnings: string[] = []
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:prefix_cache_hits'], shareWindowMs: 0, failureBackoffMs: 50, onWarning: (m) => warnings.push(m)})
    const failed = await probe.shared()
    expect(failed.failure).toMatchObject({kind: 'http_status', message: expect.stringContaining('HTTP 500')})
    server.mode = 'ok'
    await sleep(80)
    const before = await probe.shared()
    expect(before.ok).toBe(true)
    state.hits += 7
    const after = await probe.shared({startedAfterMs: nowMs()})
    expect(probe.requestValues(before, after)['vllm:prefix_cache_hits']).toBe(7)
    expect(warnings[1]).toMatch(/answers again after 1 failed scrape/)
  })

  test('a non-Prometheus body is a parse failure', async () => {
    const server = await serve({render: vllmLike({hits: 0, queries: 0, running: 0})})
    server.mode = 'html'
    const probe = createPrometheusProbe({url: server.url, metrics: ['vllm:prefix_cache_hits']})
    const ref = await probe.shared()
    expect(ref.failure?.kind).toBe('parse')
    expect(ref.failure?.message).toMatch(/content-type text\/html.*line 1/)
  })
})
