/**
 * --workers: the measured path on worker threads gives results of the same shape as on the main thread, through
 * the whole use case (needs the built dist/, as `npm test` does first: worker threads run compiled JavaScript).
 */
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {defaultWorkers} from '../../src/config/workers.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {runFlags} from '../helpers/run-flags.js'

let sim: Simulator
let dir: string
beforeAll(async () => {
  sim = await startSimulator({baseTtftMs: 5, prefillMsPerToken: 0.05, itlMs: 2, defaultOutputTokens: 8})
  dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-workers-'))
})
afterAll(async () => {
  await sim.close()
  await rm(dir, {recursive: true, force: true})
})

async function run(workers: number): Promise<{logs: string[]; records: Record<string, unknown>[]; files: string[]; warmShare: number}> {
  const out = path.join(dir, `w${workers}`)
  const logs: string[] = []
  const config = buildRunConfig(runFlags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['4'], 'output-dir': out, workers, 'num-samples': 12}))
  const summary = await runBenchmark(config, {log: (m) => logs.push(m), warn: () => {}})
  const records = (await readFile(path.join(out, 'requests.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
  return {logs, records, files: (await readdir(out)).sort(), warmShare: summary.levels[0].rounds[1].cache.cached_share!}
}

test('--workers 2 measures every request, with the same files and record fields as one thread', async () => {
  const one = await run(1)
  const two = await run(2)
  expect(two.logs.join('\n')).toMatch(/Concurrency 4: the measured path runs on 2 worker threads/)
  expect(one.logs.join('\n')).not.toMatch(/worker threads/)
  expect(two.files).toEqual(one.files)
  expect(two.records).toHaveLength(24)
  expect(two.records.every((r) => r.ok === true && (r.firstTokenAtMs as number) > (r.sentAtMs as number))).toBe(true)
  const keys = (rs: Record<string, unknown>[]) => [...new Set(rs.flatMap((r) => Object.keys(r).filter((k) => k !== 'session')))].sort()
  expect(keys(two.records)).toEqual(keys(one.records))
  // Round 2 is still warm: the threads send the very same bytes.
  expect(two.warmShare).toBeGreaterThan(0.8)
})

test('the default: one thread unless there are 4+ cores and 512+ streams; at most half the cores', () => {
  expect(defaultWorkers(2, 5000)).toBe(1)
  expect(defaultWorkers(64, 256)).toBe(1)
  expect(defaultWorkers(8, 512)).toBe(1)
  expect(defaultWorkers(8, 1024)).toBe(2)
  expect(defaultWorkers(8, 5000)).toBe(4)
})

test('--workers must be a whole number from 1 to 64', () => {
  for (const bad of [0, -1, 1.5, 65]) {
    expect(() => buildRunConfig(runFlags({workers: bad}))).toThrow(/--workers must be a whole number from 1 to 64/)
  }
})
