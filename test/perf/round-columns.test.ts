/**
 * Issue #6 follow-up: the runner summarises a round from compact columns instead of its records. The summary must be
 * the one summarizeRound computes from the same records, to the last bit, whatever mix the round holds.
 */
import type {FailureCategory, RequestRecord} from '../../src/record/record.js'
import {RoundColumns, summarizeColumns, summarizeRound, MAX_DISTINCT_ERRORS} from '../../src/summary/round-summary.js'
import type {Slo} from '../../src/slo/slo.js'

/** Small deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const CATEGORIES: FailureCategory[] = ['http_5xx', 'http_4xx', 'timeout', 'stream_cut', 'connection', 'cancelled']

/** `n` planned requests, some never finished (undefined), with every field the summary reads varied. */
function mixedRound(n: number, seed: number): (RequestRecord | undefined)[] {
  const rand = rng(seed)
  return Array.from({length: n}, (_, index) => {
    if (rand() < 0.05) return undefined // not finished (interrupted round)
    const session = rand() < 0.3 ? 2 : 1
    const sentAtMs = 1_700_000_000_000 + (session === 2 ? 3_600_000 : 0) + rand() * 5000 + rand() / 7
    const base: RequestRecord = {level: 8, round: 1, index, sampleId: `s${index}`, promptPreview: 'p', queuedAtMs: sentAtMs - rand() * 3, sentAtMs, endedAtMs: sentAtMs + 50 + rand() * 900, ok: true, session}
    if (rand() < 0.2) base.retries = 1 + Math.floor(rand() * 3)
    const connection = rand()
    if (connection < 0.6) base.reusedConnection = true
    else if (connection < 0.9) {
      base.reusedConnection = false
      if (rand() < 0.8) base.connectMs = rand() * 3 // else: a connect that was never timed
    }
    if (rand() < 0.25) {
      const category = CATEGORIES[Math.floor(rand() * CATEGORIES.length)]
      // Many distinct messages with tied counts, more than MAX_DISTINCT_ERRORS of them.
      const message = rand() < 0.5 ? `${category} boom ${Math.floor(rand() * 30)}` : `${category} common`
      return {...base, ok: false, error: rand() < 0.95 ? {category, message} : undefined}
    }
    const streamed = rand() < 0.9
    const outputTokens = rand() < 0.1 ? 1 : 2 + Math.floor(rand() * 60)
    const r: RequestRecord = {...base, outputTokens, outputTokensSource: rand() < 0.7 ? 'usage' : rand() < 0.8 ? 'chunks' : undefined}
    if (streamed) {
      r.firstTokenAtMs = sentAtMs + 5 + rand() * 40
      r.chunkOffsetsMs = Array.from({length: outputTokens}, (_, k) => 5 + k * 3 + rand())
    }
    if (rand() < 0.9) r.inputTokens = 100 + Math.floor(rand() * 900)
    if (rand() < 0.6) r.cachedTokens = Math.floor(rand() * 100)
    if (rand() < 0.5) r.prometheus = {hits: rand() < 0.2 ? null : rand() * 10, ratio: rand()}
    return r
  })
}

/** Columns filled in a shuffled (completion) order, as the runner fills them. */
function columnsOf(round: (RequestRecord | undefined)[], slo: Slo | undefined, seed: number): RoundColumns {
  const columns = new RoundColumns(round.length, slo)
  const done = round.filter((r): r is RequestRecord => r !== undefined)
  const rand = rng(seed)
  for (let i = done.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[done[i], done[j]] = [done[j], done[i]]
  }
  for (const r of done) columns.add(structuredClone(r))
  return columns
}

describe('summarizeColumns equals summarizeRound on the same records', () => {
  const slo: Slo = {ttft_ms: 30, itl_ms: 20, latency_ms: 800}

  test.each([
    ['with an SLO', 1, slo],
    ['without an SLO', 2, undefined],
    ['another mix', 3, {latency_ms: 500}],
  ])('%s (seed %i): every field, bit for bit', (_name, seed, s) => {
    const round = mixedRound(2000, seed)
    const records = round.filter((r): r is RequestRecord => r !== undefined)
    const expected = summarizeRound(8, 1, records, s)
    const actual = summarizeColumns(8, 1, columnsOf(round, s, seed + 100))
    // JSON text compares key order and every double (printed in round-trip form) too.
    expect(JSON.stringify(actual)).toBe(JSON.stringify(expected))
    expect(actual).toStrictEqual(expected)
    // The mix exercises what it should.
    expect(expected.failed_requests).toBeGreaterThan(100)
    expect(expected.errors).toHaveLength(MAX_DISTINCT_ERRORS)
    expect(expected.retries.requests).toBeGreaterThan(0)
    expect(expected.token_sources.usage * expected.token_sources.chunks).toBeGreaterThan(0)
    expect(expected.cache.reported_requests).toBeGreaterThan(0)
    const {reused, opened, connect_ms} = expected.connections!
    expect(reused * opened).toBeGreaterThan(0)
    expect(connect_ms.count).toBeGreaterThan(0)
    expect(connect_ms.count).toBeLessThan(opened)
    if (s) expect(expected.goodput!.met_requests).toBeGreaterThan(0)
  })

  test('per-request Prometheus values and the paired-TTFT column match the records', () => {
    const round = mixedRound(500, 4)
    const columns = columnsOf(round, undefined, 5)
    for (const name of ['hits', 'ratio']) {
      const expected = round.map((r) => r?.prometheus?.[name] ?? Number.NaN)
      expect(Array.from(columns.prometheusValues(name)!)).toEqual(expected)
    }
    expect(columns.prometheusValues('absent')).toBeUndefined()
    const ttft = round.map((r) => (r?.ok && r.firstTokenAtMs !== undefined ? r.firstTokenAtMs - r.sentAtMs : Number.NaN))
    expect(Array.from(columns.ttft)).toEqual(ttft)
  })

  test('an empty round, and cancelled requests counted apart', () => {
    const empty = new RoundColumns(3)
    expect(summarizeColumns(2, 2, empty)).toStrictEqual(summarizeRound(2, 2, []))
    const cancelled: RequestRecord = {level: 2, round: 1, index: 1, sampleId: 'x', promptPreview: 'p', queuedAtMs: 0, sentAtMs: 1, endedAtMs: 2, ok: false, error: {category: 'cancelled', message: 'aborted'}}
    const columns = new RoundColumns(3)
    columns.add(cancelled)
    expect({finished: columns.finished, cancelled: columns.cancelled}).toEqual({finished: 1, cancelled: 1})
    expect(() => columns.add(cancelled)).toThrow(/added twice/)
    expect(() => columns.add({...cancelled, index: 3})).toThrow(/outside/)
  })
})
