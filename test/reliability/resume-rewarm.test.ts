/**
 * --resume in the middle of a level, through runBenchmark against a scripted server that keeps every body it
 * received: the measured part of the level is re-sent unmeasured (same bytes, same salt) before the level goes on,
 * nothing is measured twice, and the round files carry the first invocation's records read back from requests.jsonl.
 */
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {loadResumeState} from '../../src/run/resume.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {requestRow} from '../../src/output/round-json.js'
import {openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'
import {runFlags} from '../helpers/run-flags.js'
import {keyOf, readRecords, readRound, readRunJson, tempDir, writeDataset} from './support.js'

const SAMPLES = 4
const MEASURED_BEFORE_STOP = 3

describe('resume mid-level (runBenchmark)', () => {
  let server: ScriptedServer
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    server = await startScriptedServer({body: openAiStream({tokens: 2, usage: {prompt_tokens: 5, completion_tokens: 2}})})
    ;({dir, cleanup} = await tempDir('rewarm'))
  })
  afterAll(async () => {
    await server.close()
    await cleanup()
  })

  /** Bodies of the sample requests received, in arrival order (not the preflight, nor a connection warm-up). */
  const sampleBodies = () =>
    server.requests.filter((r) => r.method === 'POST' && r.body.length > 0 && !r.body.toString().includes('dual-bench preflight')).map((r) => r.body)

  test('re-sends the measured requests of the half-done level unmeasured, then finishes it', async () => {
    const out = path.join(dir, 'out')
    const flags = runFlags({dataset: await writeDataset(dir, SAMPLES), endpoint: server.endpoint().toString(), model: 'm', concurrency: ['1'], 'output-dir': out})
    const config = buildRunConfig(flags)
    const stop = new AbortController()
    let seen = 0
    const first = await runBenchmark(config, {
      log: () => {},
      warn: () => {},
      stop: stop.signal,
      flags: flags as unknown as Record<string, unknown>,
      observer: {request: () => void (++seen === MEASURED_BEFORE_STOP && stop.abort())},
    })
    expect(first.status).toBe('interrupted')
    const before = await readRecords(out)
    expect(before.map((r) => r.index)).toEqual([0, 1, 2])
    const sentFirst = sampleBodies()
    expect(sentFirst).toHaveLength(MEASURED_BEFORE_STOP)

    server.requests.length = 0
    const warnings: string[] = []
    const resumed = await runBenchmark(config, {log: () => {}, warn: (w) => warnings.push(w), resume: await loadResumeState(out)})
    expect(resumed.status).toBe('complete')
    expect(warnings.join('\n')).toMatch(/re-sending 3 already-measured request\(s\) unmeasured/)

    // The three re-sent bodies (byte-identical: same stored salt), round 1's last, round 2's four.
    const bodies = sampleBodies()
    expect(bodies).toHaveLength(MEASURED_BEFORE_STOP + 1 + SAMPLES)
    bodies.slice(0, MEASURED_BEFORE_STOP).forEach((b, i) => expect(b.equals(sentFirst[i])).toBe(true))
    const round1 = [...sentFirst, bodies[MEASURED_BEFORE_STOP]]
    bodies.slice(MEASURED_BEFORE_STOP + 1).forEach((b, i) => expect(b.equals(round1[i])).toBe(true))
    const salt = (await readRunJson(out)).salts['1']
    expect(JSON.parse(round1[3].toString()).messages[0].content.startsWith(`${salt}\n`)).toBe(true)

    const records = await readRecords(out)
    expect(records).toHaveLength(2 * SAMPLES)
    expect(new Set(records.map(keyOf)).size).toBe(records.length)
    expect(records.slice(0, before.length)).toEqual(before)
    for (const round of [1, 2]) {
      const file = await readRound(out, 1, round)
      expect({round, ok: file.summary.successful_requests, complete: file.summary.complete}).toEqual({round, ok: SAMPLES, complete: true})
      expect(file.requests).toHaveLength(SAMPLES)
    }
    // Round 1's rows: the first invocation's records, read back from requests.jsonl, then this one's.
    const rows = (await readRound(out, 1, 1)).requests
    expect(rows.map((r: {sample_id: string}) => r.sample_id)).toEqual(['s0', 's1', 's2', 's3'])
    expect(rows.slice(0, before.length)).toEqual(before.map((r) => JSON.parse(JSON.stringify(requestRow(r)))))
  })
})
