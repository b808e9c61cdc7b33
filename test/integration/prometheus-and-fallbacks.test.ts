import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runFlags as flags} from '../helpers/run-flags.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'


/** Distinct ~300-word prompts with no shared system prompt, so round 1 shares nothing but the salt line. */
async function writeDataset(dir: string, n: number): Promise<string> {
  const words = ['river', 'mountain', 'copper', 'lantern', 'harbor', 'violet', 'engine', 'meadow', 'signal', 'orbit', 'cedar', 'falcon']
  const lines = Array.from({length: n}, (_, i) => {
    const text = Array.from({length: 300}, (_, j) => words[(i * 7 + j * (i + 3)) % words.length] + (j % 13 === 0 ? ` ${i}-${j}` : '')).join(' ')
    return JSON.stringify({id: `s${i}`, text: `Question ${i}: summarise this. ${text}`, max_tokens: 4})
  })
  const file = path.join(dir, 'data.jsonl')
  await writeFile(file, lines.join('\n') + '\n')
  return file
}

const quiet = (warnings: string[] = []) => ({log: () => {}, warn: (m: string) => warnings.push(m)})

describe('run with --prometheus-url against the simulator', () => {
  let sim: Simulator
  let dir: string
  beforeAll(async () => {
    sim = await startSimulator({baseTtftMs: 2, prefillMsPerToken: 0.01, itlMs: 1})
  })
  afterAll(async () => sim.close())
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-prom-'))
  })
  afterEach(async () => rm(dir, {recursive: true, force: true}))

  test('--concurrency 4 16: hit rate ≈ 0 in round 1 and ≈ 1 in round 2 at both levels, per round and per request', async () => {
    const dataset = await writeDataset(dir, 16)
    const config = buildRunConfig(
      flags({
        dataset,
        endpoint: `${sim.url}/v1/chat/completions`,
        concurrency: ['4', '16'],
        'output-dir': path.join(dir, 'out'),
        'prometheus-url': `${sim.url}/metrics`,
        'prometheus-metrics': ['lmcache_hit_rate'],
        'prometheus-ratio': ['hit_rate=vllm:prefix_cache_hits/vllm:prefix_cache_queries'],
      }),
    )
    const summary = await runBenchmark(config, quiet())
    for (const level of summary.levels) {
      const [cold, warm] = level.rounds
      expect(cold.prometheus!.round.values.hit_rate!).toBeLessThan(0.1)
      expect(warm.prometheus!.round.values.hit_rate!).toBeGreaterThan(0.9)
      expect(cold.prometheus!.per_request.lmcache_hit_rate.p50!).toBeLessThan(0.1)
      expect(warm.prometheus!.per_request.lmcache_hit_rate.p50!).toBeGreaterThan(0.9)
    }
    const json = JSON.parse(await readFile(path.join(dir, 'out', 'concurrency_16_round_2.json'), 'utf8'))
    expect(json.summary.prometheus.round.values.hit_rate).toBeGreaterThan(0.9)
    expect(typeof json.requests[0].prometheus.lmcache_hit_rate).toBe('number')
    expect(json.requests[0].scrapes.after).toBeGreaterThanOrEqual(json.requests[0].scrapes.before)
    const csv = await readFile(path.join(dir, 'out', 'metrics_summary.csv'), 'utf8')
    expect(csv).toContain('Prometheus: hit_rate')
    expect(csv).toContain('Prometheus: lmcache_hit_rate')
  })

  test('at concurrency 64 the metrics endpoint sees far fewer scrapes than 2 × requests', async () => {
    const dataset = await writeDataset(dir, 128)
    const config = buildRunConfig(
      flags({dataset, endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['64'], 'output-dir': path.join(dir, 'out'), 'prometheus-url': `${sim.url}/metrics`, 'prometheus-metrics': ['lmcache_hit_rate']}),
    )
    sim.resetStats()
    const summary = await runBenchmark(config, quiet())
    const requests = summary.levels[0].rounds.reduce((n, r) => n + r.total_requests, 0)
    expect(requests).toBe(256)
    expect(sim.stats().metricsScrapes).toBeLessThan(requests / 2)
  })

  test('a metrics endpoint that dies mid-run: the run completes, values are missing, a warning is printed', async () => {
    let served = 0
    const metrics: Server = createServer((req, res) => {
      served++
      res.setHeader('content-type', 'text/plain; version=0.0.4')
      res.end('# TYPE lmcache_hit_rate gauge\nlmcache_hit_rate 0.5\n')
    })
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}/metrics`
    const dataset = await writeDataset(dir, 8)
    const config = buildRunConfig(
      flags({dataset, endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['2'], 'output-dir': path.join(dir, 'out'), 'prometheus-url': url, 'prometheus-metrics': ['lmcache_hit_rate']}),
    )
    const warnings: string[] = []
    // Close the metrics server once round 1 ends: round 2 runs without it.
    const summary = await runBenchmark(config, {
      ...quiet(warnings),
      observer: {roundEnd: (e) => void (e.round === 1 && (metrics.closeAllConnections(), metrics.close()))},
    })
    expect(served).toBeGreaterThan(0)
    const [cold, warm] = summary.levels[0].rounds
    expect(cold.successful_requests).toBe(8)
    expect(warm.successful_requests).toBe(8)
    expect(cold.prometheus!.per_request.lmcache_hit_rate.count).toBe(8)
    expect(warm.prometheus!.per_request.lmcache_hit_rate.count).toBe(0)
    expect(warm.prometheus!.health.failures).toBeGreaterThan(0)
    expect(warnings.join('\n')).toMatch(/metrics|scrape|prometheus/i)
  })
})

describe('token counting fallbacks end to end', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-fallback-'))
  })
  afterEach(async () => rm(dir, {recursive: true, force: true}))

  test('a server that rejects stream_options: retried without it at preflight, tokens counted from chunks, said so', async () => {
    const sim = await startSimulator({rejectStreamOptions: true, baseTtftMs: 1, itlMs: 1, defaultOutputTokens: 5})
    try {
      const warnings: string[] = []
      const config = buildRunConfig(flags({dataset: await writeDataset(dir, 4), endpoint: `${sim.url}/v1/chat/completions`, 'output-dir': path.join(dir, 'out')}))
      const summary = await runBenchmark(config, quiet(warnings))
      for (const round of summary.levels[0].rounds) {
        expect(round.failed_requests).toBe(0)
        expect(round.token_sources).toEqual({usage: 0, chunks: 4})
        expect(round.distributions.output_tokens.avg).toBe(4) // max_tokens 4 in the dataset, one token per chunk here
      }
      expect(warnings.join('\n')).toMatch(/stream_options/)
      const run = JSON.parse(await readFile(path.join(dir, 'out', 'run.json'), 'utf8'))
      expect(run.configuration.stream_options_include_usage).toBe(false)
    } finally {
      await sim.close()
    }
  })
})
