import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, test} from '@jest/globals'
import {DualBenchError} from '../../src/errors.js'
import {loadRun} from '../../src/report/load-run.js'
import {copyFixture, OFF, ON} from './helpers.js'

async function expectInputError(p: Promise<unknown>, ...fragments: string[]): Promise<DualBenchError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DualBenchError)
  const e = error as DualBenchError
  expect(e.exit).toBe(2)
  for (const f of fragments) expect(e.message).toContain(f)
  return e
}

describe('loadRun', () => {
  test('reads run.json and every round, in the run order, as RoundSummary', async () => {
    const r = await loadRun(ON)
    expect(r.run.tool).toBe('dual-bench')
    expect(r.run.configuration.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(r.run.dataset).toEqual({path: '/work/data/long<context>&more.jsonl', sha256: expect.stringMatching(/^a3f1/), samples: 8})
    expect(r.run.slo).toEqual({ttft_ms: 1000, itl_ms: 50, latency_ms: 10000})
    expect(r.run.simulator).toBeNull()
    // Directory listing order would put 16 before 8; the run's order is 1, 8, 16.
    expect(r.rounds.map((x) => [x.concurrency, x.round])).toEqual([[1, 1], [1, 2], [8, 1], [8, 2], [16, 1], [16, 2]])
    const warm = r.rounds[1].summary
    expect(warm.distributions.ttft).toMatchObject({count: 8, avg: 110, p50: 100, p99: 160})
    expect(warm.throughput).toMatchObject({output_tokens_per_s: 112, requests_per_s: 0.4})
    expect(warm.goodput).toMatchObject({met_requests: 5, met_output_tokens: 1300, tokens_per_s: 65})
    expect(warm.cache.cached_share).toBe(0.95)
    expect(warm.prometheus?.names).toEqual(['lmcache:num_hit_tokens', 'lmcache:num_requested_tokens', 'lmcache_hit_rate'])
    expect(warm.prometheus?.round.values.lmcache_hit_rate).toBe(0.95)
    expect(warm.prometheus?.round.types.lmcache_hit_rate).toBe('ratio')
    expect(warm.prometheus?.per_request.lmcache_hit_rate).toMatchObject({avg: 0.95, count: 8})
    expect(r.warnings).toEqual([])
  })

  test('keeps failed requests with their prompt preview and error text', async () => {
    const r = await loadRun(OFF)
    const round = r.rounds.find((x) => x.concurrency === 8 && x.round === 2)!
    expect(round.summary.failed_requests).toBe(1)
    expect(round.summary.failures.http_5xx?.count).toBe(1)
    expect(round.failedRequests).toEqual([
      {index: 7, sampleId: 's7', prompt: 'Tell me about <b>tags</b> & "quotes" | pipes', error: 'http_5xx: 502 <script>alert("x")</script> & upstream reset'},
    ])
  })

  test('a planned round that was never written is a warning, not an error', async () => {
    const dir = await copyFixture(OFF)
    await rm(path.join(dir, 'concurrency_8_round_2.json'))
    const r = await loadRun(dir)
    expect(r.rounds).toHaveLength(3)
    expect(r.warnings).toEqual(['concurrency_8_round_2.json is missing: the run did not finish this round (interrupted?)'])
  })

  test('errors name the directory or file and say what is wrong (exit 2)', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-load-'))
    await expectInputError(loadRun(path.join(tmp, 'nope')), path.join(tmp, 'nope'), 'no such directory')
    await writeFile(path.join(tmp, 'file.txt'), 'x')
    await expectInputError(loadRun(path.join(tmp, 'file.txt')), 'is a file, not a run directory')

    const empty = path.join(tmp, 'empty')
    await mkdir(empty)
    await expectInputError(loadRun(empty), path.join(empty, 'run.json'), 'is missing')

    const dir = await copyFixture(OFF)
    const runFile = path.join(dir, 'run.json')
    const good = await readFile(runFile, 'utf8')
    await writeFile(runFile, '{"tool": "dual-bench",')
    await expectInputError(loadRun(dir), runFile, 'not valid JSON')
    await writeFile(runFile, JSON.stringify({...JSON.parse(good), configuration: 'x'}))
    await expectInputError(loadRun(dir), runFile, 'at configuration')
    await writeFile(runFile, good)

    const roundFile = path.join(dir, 'concurrency_1_round_2.json')
    const round = JSON.parse(await readFile(roundFile, 'utf8'))
    await writeFile(roundFile, JSON.stringify({...round, summary: {...round.summary, p50_ttft: 'fast'}}))
    await expectInputError(loadRun(dir), roundFile, 'at summary.p50_ttft')
    await writeFile(roundFile, JSON.stringify({...round, configuration: {...round.configuration, round: 1}}))
    await expectInputError(loadRun(dir), roundFile, 'concurrency 1 round 1', 'file name says 1/2')

    const noRounds = path.join(tmp, 'no-rounds')
    await mkdir(noRounds)
    await writeFile(path.join(noRounds, 'run.json'), good)
    await expectInputError(loadRun(noRounds), 'no concurrency_<C>_round_<R>.json')
  })
})
