import {mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runFlags as flags} from '../helpers/run-flags.js'
import {eventLoopWarning, startEventLoopMonitor} from '../../src/perf/event-loop.js'
import {chunkGapsMs} from '../../src/record/derive.js'
import type {RequestRecord} from '../../src/record/record.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {summarize} from '../../src/summary/stats.js'


describe('round health and memory-bounded summaries (issue #6)', () => {
  let sim: Simulator
  let dir: string
  beforeAll(async () => {
    sim = await startSimulator({baseTtftMs: 2, prefillMsPerToken: 0.01, itlMs: 1, defaultOutputTokens: 12})
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-perf-'))
  })
  afterAll(async () => {
    await sim.close()
    await rm(dir, {recursive: true, force: true})
  })

  test('every round JSON carries event-loop delay stats, and chunk gaps pooled on the fly equal the exact ones from requests.jsonl', async () => {
    const out = path.join(dir, 'run')
    const config = buildRunConfig(flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['4'], 'output-dir': out, 'num-samples': 6}))
    const summary = await runBenchmark(config, {log: () => {}, warn: () => {}})

    const records: RequestRecord[] = (await readFile(path.join(out, 'requests.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
    for (const round of [1, 2]) {
      const json = JSON.parse(await readFile(path.join(out, `concurrency_4_round_${round}.json`), 'utf8'))
      const loop = json.summary.event_loop
      expect(loop.samples).toBeGreaterThan(0)
      expect(loop.resolution_ms).toBe(1)
      for (const k of ['p50_ms', 'p99_ms', 'max_ms', 'mean_ms']) expect(loop[k]).toBeGreaterThanOrEqual(0)
      expect(loop.p50_ms).toBeLessThanOrEqual(loop.p99_ms)
      expect(loop.p99_ms).toBeLessThanOrEqual(loop.max_ms)

      const exact = summarize(records.filter((r) => r.round === round).flatMap(chunkGapsMs))
      expect(exact.count).toBeGreaterThan(0)
      const pooled = summary.levels[0].rounds[round - 1].distributions.chunk_gap
      expect(pooled.count).toBe(exact.count)
      for (const k of ['p50', 'p90', 'p99', 'min', 'max'] as const) expect(pooled[k]).toBe(exact[k])
      expect(pooled.avg!).toBeCloseTo(exact.avg!, 9)
    }
  })

  test('a blocked event loop is measured and turned into a warning; a healthy one is not', async () => {
    const monitor = startEventLoopMonitor()
    await new Promise((resolve) => setTimeout(resolve, 20))
    const until = performance.now() + 60
    while (performance.now() < until) {
      // block the loop, as an overloaded client would
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    const stats = monitor.stop()
    expect(stats.max_ms).toBeGreaterThanOrEqual(40)
    expect(eventLoopWarning(64, 1, {...stats, p99_ms: 12})).toMatch(/Concurrency 64 round 1: .*12\.0 ms at p99/)
    expect(eventLoopWarning(64, 1, {...stats, p99_ms: 0.3})).toBeUndefined()
  })
})
