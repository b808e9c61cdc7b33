import {mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runFlags as flags} from '../helpers/run-flags.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'


const quiet = {log: () => {}, warn: () => {}}

describe('runBenchmark against the simulator', () => {
  let sim: Simulator
  let dir: string

  beforeAll(async () => {
    sim = await startSimulator({baseTtftMs: 5, prefillMsPerToken: 0.05, itlMs: 2, defaultOutputTokens: 8})
  })
  afterAll(async () => {
    await sim.close()
  })
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-run-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  test('two levels: salted round 1 is cold at both levels, round 2 is warm, every file is written', async () => {
    const sloFile = path.join(dir, 'slo.yaml')
    await writeFile(sloFile, 'slo:\n  ttft_ms: 100000\n  itl_ms: 100000\n')
    const out = path.join(dir, 'out')
    const config = buildRunConfig(
      flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['2', '8'], 'output-dir': out, 'slo-file': sloFile, 'num-samples': 8}),
    )
    const summary = await runBenchmark(config, quiet)

    expect(summary.levels.map((l) => l.concurrency)).toEqual([2, 8])
    for (const level of summary.levels) {
      const [cold, warm] = level.rounds
      expect(cold.successful_requests).toBe(8)
      expect(warm.successful_requests).toBe(8)
      expect(warm.distributions.ttft.avg!).toBeLessThan(cold.distributions.ttft.avg!)
      expect(cold.cache.cached_share!).toBeLessThan(0.1)
      expect(warm.cache.cached_share!).toBeGreaterThan(0.8)
      expect(cold.goodput!.met_requests).toBe(8)
    }
    const files = await readdir(out)
    expect(files.sort()).toEqual(
      [
        'concurrency_2_round_1.json', 'concurrency_2_round_2.json', 'concurrency_8_round_1.json', 'concurrency_8_round_2.json',
        'requests_c2_r1.csv', 'requests_c2_r2.csv', 'requests_c8_r1.csv', 'requests_c8_r2.csv',
        'metrics_summary.csv', 'overall_summary.json', 'requests.jsonl', 'run.json',
      ].sort(),
    )
    const csv = await readFile(path.join(out, 'metrics_summary.csv'), 'utf8')
    expect(csv.split('\n')[0]).toBe('Metric/Round,Concurrency 2 Round 1,Concurrency 2 Round 2,Concurrency 8 Round 1,Concurrency 8 Round 2')
    const lines = (await readFile(path.join(out, 'requests.jsonl'), 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(32)
    // Each level's connections are opened before its clock starts, so no measured request pays for a connect.
    const round = JSON.parse(await readFile(path.join(out, 'concurrency_8_round_1.json'), 'utf8'))
    expect(round.requests.map((r: {reused_connection: boolean}) => r.reused_connection)).toEqual(Array(8).fill(true))
    expect(round.requests.every((r: {connect_ms: number | null}) => r.connect_ms === null)).toBe(true)
    const requestCsv = (await readFile(path.join(out, 'requests_c8_r1.csv'), 'utf8')).split('\n')
    expect(requestCsv[0]).toMatch(/,connect_ms,reused_connection$/)
    expect(requestCsv[1]).toMatch(/,,true$/)
    const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'))
    expect(run.dataset.samples).toBe(8)
    expect(run.dataset.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(run.ended_at).not.toBeNull()
  })

  test('never more than C requests in flight, and C are reached', async () => {
    const config = buildRunConfig(flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['3'], 'output-dir': path.join(dir, 'o'), 'num-samples': 12}))
    sim.resetStats()
    await runBenchmark(config, quiet)
    // The preflight request runs alone before the level starts, so it cannot raise the maximum.
    expect(sim.stats().maxInFlight).toBe(3)
  })

  test('round 2 sends exactly the bytes of round 1, and levels differ only by the salt', async () => {
    const out = path.join(dir, 'o')
    const config = buildRunConfig(flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['1', '2'], 'output-dir': out, 'num-samples': 3}))
    const summary = await runBenchmark(config, quiet)
    const r1 = JSON.parse(await readFile(path.join(out, 'concurrency_1_round_1.json'), 'utf8'))
    const r2 = JSON.parse(await readFile(path.join(out, 'concurrency_1_round_2.json'), 'utf8'))
    expect(r2.requests.map((r: {sample_id: string}) => r.sample_id)).toEqual(r1.requests.map((r: {sample_id: string}) => r.sample_id))
    const run = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'))
    expect(run.salts['1']).not.toEqual(run.salts['2'])
    expect(summary.levels[1].rounds[0].cache.cached_share!).toBeLessThan(0.1)
  })

  test('--cold-start none without a reset: level 2 round 1 is warm (the reason for the salt); --cache-reset vllm flushes before each level', async () => {
    const none = buildRunConfig(flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['1', '2'], 'output-dir': path.join(dir, 'a'), 'num-samples': 4, 'cold-start': 'none'}))
    const warned: string[] = []
    const unsalted = await runBenchmark(none, {log: () => {}, warn: (m) => warned.push(m)})
    expect(unsalted.levels[1].rounds[0].cache.cached_share!).toBeGreaterThan(0.8)
    expect(warned.join('\n')).toMatch(/Concurrency 2: round 1 was not cold/)

    sim.resetStats()
    const reset = buildRunConfig(
      flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['1', '2'], 'output-dir': path.join(dir, 'b'), 'num-samples': 4, 'cold-start': 'none', 'cache-reset': 'vllm'}),
    )
    const flushed = await runBenchmark(reset, quiet)
    expect(sim.stats().cacheResets).toBe(2)
    for (const level of flushed.levels) {
      expect(level.rounds[0].cache.cached_share!).toBeLessThan(0.1)
      expect(level.rounds[1].cache.cached_share!).toBeGreaterThan(0.8)
    }
  })
})
