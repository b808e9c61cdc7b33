/**
 * Issue #5, part 1: `dual-bench run` (the real CLI, spawned) against the built-in simulator with each fault
 * mode. The run must complete (exit 0); per-round failure counts by category, in the round JSON and in
 * requests.jsonl, must be exactly what the simulator says it injected; successful requests must be whole.
 *
 * How the counts are made exact: the simulator draws each request's faults from one seeded PRNG in arrival
 * order (src/sim/faults.ts). With --concurrency 1 the arrival order is fixed (preflight, round 1 in dataset
 * order, round 2 in dataset order, retries right after their failure), so the test knows which request
 * gets which fault. The preflight is the first request the simulator sees and is not measured: a faulted
 * preflight would end the run with exit 2, so `findSeed` picks a seed whose first draw is clean, and the
 * simulator's `injected` counters then contain measured requests only.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import type {FaultPlan, FaultRates} from '../../src/sim/faults.js'
import {startSimulator, type SimOptions, type Simulator} from '../../src/sim/index.js'
import {runCli} from '../helpers/run-cli.js'
import {countFailures, findSeed, NO_RATES, plannedFaults, readRecords, readRound, summaryFailureCounts, tempDir, writeDataset} from './support.js'

/** Short timings: a request is ~30 ms. */
const FAST: SimOptions = {baseTtftMs: 2, prefillMsPerToken: 0.01, itlMs: 3}
const MAX_TOKENS = 8
const NO_INJECTED = {fail: 0, drop: 0, garbage: 0, slow: 0, errorEvent: 0}

type InjectedKey = keyof typeof NO_INJECTED

/** The category a record must carry for a request that drew `plan` (precedence as in drawFaults). */
function expectedCategory(plan: FaultPlan, slowCategory?: string): string | undefined {
  if (plan.fail) return 'http_5xx'
  if (plan.slow && slowCategory) return slowCategory // no first token before the client gives up
  if (plan.drop) return 'stream_cut'
  if (plan.garbage) return 'malformed_sse'
  if (plan.errorEvent) return 'server_error_event'
  return undefined
}

const countBy = (xs: (string | undefined)[]) => {
  const out: Record<string, number> = {}
  for (const x of xs) if (x) out[x] = (out[x] ?? 0) + 1
  return out
}

describe('fault modes end to end (CLI against the in-process simulator)', () => {
  let sim: Simulator | undefined
  let cleanup: (() => Promise<void>) | undefined
  afterEach(async () => {
    await sim?.close()
    sim = undefined
    await cleanup?.()
    cleanup = undefined
  })

  async function setup(simOptions: SimOptions, samples: number) {
    const tmp = await tempDir('faults')
    cleanup = tmp.cleanup
    sim = await startSimulator({...FAST, ...simOptions})
    const dataset = await writeDataset(tmp.dir, samples)
    const out = path.join(tmp.dir, 'out')
    const base = ['run', '--dataset', dataset, '--endpoint', `${sim.url}/v1/chat/completions`, '--output-dir', out, '--max-output-tokens', String(MAX_TOKENS), '--no-progress']
    return {out, base, sim}
  }

  const N = 6 // samples: 12 measured requests per run at one level

  test.each<[string, Partial<FaultRates>, string[], InjectedKey, string]>([
    ['fail', {failRate: 0.3}, [], 'fail', 'http_5xx'],
    ['drop', {dropRate: 0.3}, [], 'drop', 'stream_cut'],
    ['garbage', {garbageRate: 0.3}, [], 'garbage', 'malformed_sse'],
    ['errorEvent', {errorEventRate: 0.3}, [], 'errorEvent', 'server_error_event'],
    ['slow + --first-token-timeout', {slowRate: 0.3}, ['--first-token-timeout', '1'], 'slow', 'first_token_timeout'],
    ['slow + --timeout', {slowRate: 0.3}, ['--timeout', '1'], 'slow', 'timeout'],
  ])('%s: exit 0, failures per round = injected, successes whole', async (_name, partialRates, extra, key, category) => {
    const rates: FaultRates = {...NO_RATES, ...partialRates}
    const isSlow = key === 'slow'
    // At least one fault in each round, and few enough that slow requests (1 s each) keep the test short.
    const count = (ps: FaultPlan[]) => ps.filter((p) => expectedCategory(p, isSlow ? category : undefined) !== undefined).length
    const seed = findSeed(rates, 2 * N, (m) => count(m.slice(0, N)) >= 1 && count(m.slice(N)) >= 1 && count(m) <= 4)
    const plans = plannedFaults(seed, rates, 1 + 2 * N).slice(1)
    const expected = plans.map((p) => expectedCategory(p, isSlow ? category : undefined))
    const faulted = expected.filter(Boolean).length

    const {out, base, sim} = await setup({...rates, slowMs: 1500, seed}, N)
    const r = await runCli([...base, '--concurrency', '1', ...extra])
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)})

    const records = await readRecords(out)
    expect(records).toHaveLength(2 * N)
    expect(countFailures(records)).toEqual({[category]: faulted})
    for (const round of [1, 2]) {
      const mine = records.filter((x) => x.round === round).sort((a, b) => a.index - b.index)
      const want = expected.slice((round - 1) * N, round * N)
      // Request by request: the one that drew the fault failed with its category; the others succeeded.
      expect(mine.map((x) => x.error?.category)).toEqual(want)
      const json = await readRound(out, 1, round)
      expect(summaryFailureCounts(json)).toEqual(countBy(want))
      expect(json.summary.total_requests).toBe(N)
      expect(json.summary.failed_requests).toBe(want.filter(Boolean).length)
      expect(json.summary.complete).toBe(true)
      // Successful requests are unaffected: all their tokens, a TTFT, a normal finish.
      for (const x of mine.filter((y) => y.ok)) {
        expect(x.outputTokens).toBe(MAX_TOKENS)
        expect(x.contentChunks).toBe(MAX_TOKENS)
        expect(x.finishReason).toBe('length')
        expect(x.firstTokenAtMs).toBeGreaterThanOrEqual(x.sentAtMs)
      }
      for (const row of json.requests.filter((y: any) => y.success)) {
        expect(row.ttft).toEqual(expect.any(Number))
        expect(row.output_tokens).toBe(MAX_TOKENS)
      }
    }
    // What the simulator says it did: exactly the planned faults, and nothing else.
    const stats = sim.stats()
    expect(stats.requests).toBe(1 + 2 * N)
    expect(stats.injected).toEqual({...NO_INJECTED, [key]: faulted})
  })

  test('every fault mode at once at --concurrency 4: injected counts = failure counts by category', async () => {
    const n = 10
    const rates: FaultRates = {failRate: 0.1, dropRate: 0.1, garbageRate: 0.1, slowRate: 0.1, errorEventRate: 0.1}
    const seed = findSeed(rates, 2 * n, (m) => m.some((p) => p.fail) && m.some((p) => p.drop) && m.some((p) => p.garbage) && m.some((p) => p.errorEvent) && m.some((p) => p.slow))
    const plans = plannedFaults(seed, rates, 1 + 2 * n).slice(1)
    // No client timeout here, so a slow request is merely late: it fails only if it drew a stream fault as well.
    const {out, base, sim} = await setup({...rates, slowMs: 40, seed}, n)
    const r = await runCli([...base, '--concurrency', '4'])
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)})

    const injected = sim.stats().injected
    const expectedInjected = {
      fail: plans.filter((p) => p.fail).length,
      drop: plans.filter((p) => p.drop).length,
      garbage: plans.filter((p) => p.garbage).length,
      slow: plans.filter((p) => p.slow).length,
      errorEvent: plans.filter((p) => p.errorEvent).length,
    }
    expect(injected).toEqual(expectedInjected)

    const records = await readRecords(out)
    expect(records).toHaveLength(2 * n)
    const wantTotal = {http_5xx: injected.fail, stream_cut: injected.drop, malformed_sse: injected.garbage, server_error_event: injected.errorEvent}
    expect(countFailures(records)).toEqual(Object.fromEntries(Object.entries(wantTotal).filter(([, v]) => v > 0)))
    let fromRounds: Record<string, number> = {}
    for (const round of [1, 2]) {
      const json = await readRound(out, 4, round)
      const perRound = summaryFailureCounts(json)
      expect(perRound).toEqual(countFailures(records.filter((x) => x.round === round)))
      for (const [k, v] of Object.entries(perRound)) fromRounds[k] = (fromRounds[k] ?? 0) + v
      expect(json.summary.total_requests).toBe(n)
    }
    expect(fromRounds).toEqual(countFailures(records))
    for (const x of records.filter((y) => y.ok)) {
      expect(x.outputTokens).toBe(MAX_TOKENS)
      expect(x.firstTokenAtMs).toBeDefined()
    }
  })

  test('--retries 2: a retried request is one record; summary.retries counts requests and extra attempts', async () => {
    const n = 5
    const retries = 2
    const rates: FaultRates = {...NO_RATES, failRate: 0.5}
    // Replays the run at --concurrency 1: each planned request draws again after each retried failure.
    const replay = (measured: FaultPlan[]) => {
      let p = 0
      const out: {round: number; index: number; ok: boolean; retries: number}[] = []
      for (let k = 0; k < 2 * n; k++) {
        let attempt = 0
        for (;;) {
          const failed = measured[p++]?.fail ?? true
          if (!failed || attempt === retries) {
            out.push({round: k < n ? 1 : 2, index: k % n, ok: !failed, retries: attempt})
            break
          }
          attempt++
        }
      }
      return {requests: out, draws: p}
    }
    const seed = findSeed(rates, 3 * 2 * n, (m) => {
      const {requests} = replay(m)
      return requests.some((x) => x.ok && x.retries > 0) && requests.some((x) => !x.ok) && requests.some((x) => x.retries === 0)
    })
    const predicted = replay(plannedFaults(seed, rates, 1 + 3 * 2 * n).slice(1))

    const {out, base, sim} = await setup({...rates, seed}, n)
    const r = await runCli([...base, '--concurrency', '1', '--retries', String(retries)])
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)})

    const stats = sim.stats()
    expect(stats.requests).toBe(1 + predicted.draws)
    const failedAttempts = predicted.requests.reduce((s, x) => s + x.retries + (x.ok ? 0 : 1), 0)
    expect(stats.injected).toEqual({...NO_INJECTED, fail: failedAttempts})

    const records = await readRecords(out)
    // One line per planned request, never one per attempt.
    expect(records).toHaveLength(2 * n)
    const got = records.map((x) => ({round: x.round, index: x.index, ok: x.ok, retries: x.retries ?? 0})).sort((a, b) => a.round - b.round || a.index - b.index)
    expect(got).toEqual(predicted.requests)
    for (const round of [1, 2]) {
      const mine = predicted.requests.filter((x) => x.round === round)
      const json = await readRound(out, 1, round)
      expect(json.summary.retries).toEqual({requests: mine.filter((x) => x.retries > 0).length, attempts: mine.reduce((s, x) => s + x.retries, 0)})
      expect(json.summary.failed_requests).toBe(mine.filter((x) => !x.ok).length)
      expect(json.summary.successful_requests).toBe(mine.filter((x) => x.ok).length)
      expect(summaryFailureCounts(json)).toEqual(mine.some((x) => !x.ok) ? {http_5xx: mine.filter((x) => !x.ok).length} : {})
    }
  })

  test('--max-error-rate 0.2 aborts the level after the 10th request with a warning; the run goes on to the next level', async () => {
    const n = 20
    const rates: FaultRates = {...NO_RATES, failRate: 0.5}
    // Where the level stops at --concurrency 1: the first request count >= 10 with a failure share > 0.2.
    const stopAt = (m: FaultPlan[]) => {
      let failed = 0
      for (let sent = 1; sent <= m.length; sent++) {
        if (m[sent - 1].fail) failed++
        if (sent >= 10 && failed / sent > 0.2) return {sent, failed}
      }
      return undefined
    }
    const seed = findSeed(rates, n, (m) => stopAt(m)?.sent === 10)
    const {sent, failed} = stopAt(plannedFaults(seed, rates, 1 + n).slice(1))!

    const {out, base, sim} = await setup({...rates, seed}, n)
    const r = await runCli([...base, '--concurrency', '1', '2', '--max-error-rate', '0.2'])
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.stringMatching(/Warning: Concurrency 1: \d+ of \d+ requests failed .*--max-error-rate.*aborting this level/)})

    const round1 = await readRound(out, 1, 1)
    expect(round1.summary.total_requests).toBe(sent)
    expect(round1.summary.failed_requests).toBe(failed)
    expect(round1.summary.planned_requests).toBe(n)
    expect(round1.summary.complete).toBe(false)
    expect(summaryFailureCounts(round1)).toEqual({http_5xx: failed})
    // Round 2 of an aborted level is not run.
    expect(existsSync(path.join(out, 'concurrency_1_round_2.json'))).toBe(false)
    // The next level still runs.
    const level2 = await readRound(out, 2, 1)
    expect(level2.summary.total_requests).toBeGreaterThanOrEqual(10)

    const records = await readRecords(out)
    expect(records.filter((x) => x.level === 1)).toHaveLength(sent)
    expect(sim.stats().injected.fail).toBe(records.filter((x) => !x.ok).length)
    expect(countFailures(records)).toEqual({http_5xx: sim.stats().injected.fail})
  })
})
