import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {bufferedStreamsWarning} from '../../src/summary/buffered-streams.js'
import {runFlags as flags} from '../helpers/run-flags.js'
import {openAiStream, startScriptedServer, type Step} from '../helpers/scripted-server.js'

/** The same stream as `steps`, held back and let go in one write: what a buffering proxy does. */
function heldBack(steps: Step[]): Step[] {
  const text = steps.flatMap((s) => ('sse' in s ? [`data: ${typeof s.sse === 'string' ? s.sse : JSON.stringify(s.sse)}\n\n`] : []))
  return [{wait: 40}, {raw: text.join('')}]
}

describe('streams that arrive whole (a buffering proxy)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-buffered-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  async function warningsAgainst(body: Step[], name: string): Promise<string[]> {
    const server = await startScriptedServer(() => ({body}))
    try {
      const warnings: string[] = []
      const config = buildRunConfig(flags({endpoint: server.endpoint().toString(), model: 'm', concurrency: ['2'], 'output-dir': path.join(dir, name), 'num-samples': 4}))
      await runBenchmark(config, {log: () => {}, warn: (w) => warnings.push(w)})
      return warnings
    } finally {
      await server.close()
    }
  }

  test('a run against a server whose streams come in one read warns in each round; a streaming server does not', async () => {
    const streamed = openAiStream({firstTokenDelayMs: 20, tokens: 4, itlMs: 10})
    const buffered = (await warningsAgainst(heldBack(streamed), 'held')).filter((w) => /arrived whole/.test(w))
    expect(buffered.map((w) => w.slice(0, w.indexOf(':')))).toEqual(['Concurrency 2 round 1', 'Concurrency 2 round 2'])
    expect(buffered[0]).toMatch(/4 of 4 streams arrived whole, in one read .*proxy_buffering off/)
    expect((await warningsAgainst(streamed, 'live')).filter((w) => /arrived whole/.test(w))).toEqual([])
  })

  test('one stream in one read of many is chance, half of them is not', () => {
    expect(bufferedStreamsWarning(8, 1, {oneRead: 1, multiChunk: 10})).toBeUndefined()
    expect(bufferedStreamsWarning(8, 1, {oneRead: 0, multiChunk: 0})).toBeUndefined()
    expect(bufferedStreamsWarning(8, 2, {oneRead: 5, multiChunk: 10})).toMatch(/^Concurrency 8 round 2: 5 of 10 streams/)
  })
})
