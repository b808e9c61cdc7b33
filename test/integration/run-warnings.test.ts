import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {runFlags as flags} from '../helpers/run-flags.js'

/** Warnings `dual-bench run` gives about its inputs, against the simulator on 127.0.0.1 with real files. */
describe('run warnings about its inputs', () => {
  let sim: Simulator
  let dir: string
  beforeAll(async () => {
    sim = await startSimulator({baseTtftMs: 2, prefillMsPerToken: 0.01, itlMs: 1, defaultOutputTokens: 4})
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-run-warnings-'))
  })
  afterAll(async () => {
    await sim.close()
    await rm(dir, {recursive: true, force: true})
  })

  async function run(name: string, over: Parameters<typeof flags>[0]) {
    const warnings: string[] = []
    const config = buildRunConfig(flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['2'], 'output-dir': path.join(dir, name), ...over}))
    const summary = await runBenchmark(config, {log: () => {}, warn: (w) => warnings.push(w)})
    return {warnings, summary}
  }

  test('a TTFT bound with --no-stream is named, and goodput then rests on latency alone', async () => {
    const sloFile = path.join(dir, 'slo.yaml')
    await writeFile(sloFile, 'slo:\n  ttft_ms: 0.001\n  latency_ms: 60000\n')
    const {warnings, summary} = await run('no-stream', {stream: false, 'slo-file': sloFile, 'num-samples': 2})
    expect(warnings.filter((w) => w.startsWith(`--slo-file ${sloFile}`))).toEqual([expect.stringMatching(/ttft_ms cannot be measured with --no-stream.*judged on latency_ms only/)])
    expect(summary.levels[0].rounds[0].goodput?.met_requests).toBe(2)
    const streamed = await run('stream', {'slo-file': sloFile, 'num-samples': 2})
    expect(streamed.warnings.some((w) => w.includes('cannot be measured'))).toBe(false)
    expect(streamed.summary.levels[0].rounds[0].goodput?.met_requests).toBe(0)
  })

  test('the dataset loader warnings reach the run: a prompt repeated under another id, fewer samples than asked', async () => {
    const dataset = path.join(dir, 'dup.jsonl')
    await writeFile(dataset, ['{"id": "a", "prompt": "same"}', '{"id": "b", "prompt": "other"}', '{"id": "c", "prompt": "same"}'].join('\n') + '\n')
    const {warnings} = await run('dup', {dataset, 'num-samples': 5})
    expect(warnings).toEqual(expect.arrayContaining([expect.stringMatching(/dup\.jsonl: 1 sample\(s\) have the same prompt .*id "c" on line 3 = id "a" on line 1/), expect.stringMatching(/asked for 5 samples/)]))
  })
})
