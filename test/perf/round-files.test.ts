/**
 * Issue #6 follow-up: the round JSON and the per-request CSV are streamed from requests.jsonl (read back in plan
 * order) instead of built in memory. They must be the very bytes the in-memory writer produced; and a round whose
 * requests were all cancelled is not complete.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {createMeasuredTransport} from '../../src/http/measured-transport.js'
import {recordsInPlanOrder, RoundLineIndex, writeRoundFiles} from '../../src/output/round-files.js'
import {flatSummary, requestsCsv, roundJson} from '../../src/output/round-json.js'
import {JsonlAppender, writeFileAtomic, writeJson} from '../../src/output/write.js'
import type {RequestRecord} from '../../src/record/record.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {buildPlan} from '../../src/runner/plan.js'
import {requestKey, runPlan} from '../../src/runner/runner.js'
import {SIM_DEFAULTS, startSimulator, type Simulator} from '../../src/sim/index.js'
import type {Slo} from '../../src/slo/slo.js'
import {type RoundSummary, summarizeRound} from '../../src/summary/round-summary.js'
import {runFlags as flags} from '../helpers/run-flags.js'

const PROMPTS = ['plain', 'a, "quoted" one', 'two\nlines', 'ünïcödé 漢字 🎉', '', ' spaced ']

/** `n` records of one round with every field a row shows, prompts long enough to span several read blocks. */
function roundRecords(n: number): RequestRecord[] {
  return Array.from({length: n}, (_, index): RequestRecord => {
    const sentAtMs = 1_700_000_000_000 + index * 1.25
    const r: RequestRecord = {
      level: 4, round: 2, index, sampleId: `id-${index}`, promptPreview: PROMPTS[index % PROMPTS.length] + 'x'.repeat(index % 400),
      queuedAtMs: sentAtMs - (index % 7) / 3, sentAtMs, firstTokenAtMs: sentAtMs + 10 + index / 9, endedAtMs: sentAtMs + 200 + index / 11,
      chunkOffsetsMs: [10, 20.5, 33], outputTokens: 1 + (index % 9), outputTokensSource: index % 2 ? 'usage' : 'chunks', inputTokens: 100,
      cachedTokens: index % 3 ? 50 : undefined, cachedTokensSource: index % 3 ? 'usage.prompt_tokens_details.cached_tokens' : undefined, ok: true,
    }
    if (index % 5 === 0) r.inputLength = {original: 900, truncated: 512, unit: 'tokens'}
    if (index % 4 === 0) {
      r.prometheus = {hit_rate: index % 8 ? 0.5 : null}
      r.scrapes = {before: index, after: index + 1}
    }
    if (index % 11 === 3) return {...r, ok: false, firstTokenAtMs: undefined, error: {category: 'http_5xx', message: `Bad "gateway", ${index}`, httpStatus: 502}}
    return r
  })
}

/** Writes a round both ways, returns the files' texts: [old JSON, new JSON, old CSV, new CSV]. */
async function bothWays(dir: string, records: RequestRecord[], size: number, earlierIndices: Set<number>, slo?: Slo): Promise<string[]> {
  const summary = summarizeRound(4, 2, records, slo)
  const configuration = {endpoint: 'http://127.0.0.1:1/v1/chat/completions', model: 'm', nested: {a: [1, 2]}}
  await writeJson(path.join(dir, 'old.json'), roundJson(configuration, summary, records, slo))
  await writeFileAtomic(path.join(dir, 'old.csv'), requestsCsv(records, slo))

  // requests.jsonl already holds another round (multi-byte text included), then this one in a shuffled order.
  const jsonl = path.join(dir, 'requests.jsonl')
  await writeFile(jsonl, JSON.stringify({note: 'earlier round ✓'}) + '\n')
  const appender = new JsonlAppender(jsonl)
  // Records of an earlier invocation (--resume) are earlier lines of the same requests.jsonl.
  const earlierLines = new RoundLineIndex(size)
  for (const r of records.filter((r) => earlierIndices.has(r.index))) earlierLines.note(r, appender.write(r))
  const lines = new RoundLineIndex(size)
  const shuffled = records.filter((r) => !earlierIndices.has(r.index))
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1)
    ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
  }
  for (const r of shuffled) lines.note(r, appender.write(r))
  await appender.flush()
  const earlier = earlierLines.take(4, 2)
  const located = lines.take(4, 2)
  await writeRoundFiles({
    jsonFile: path.join(dir, 'new.json'),
    csvFile: path.join(dir, 'new.csv'),
    configuration,
    summary,
    slo,
    records: recordsInPlanOrder(jsonl, size, (i) => earlier(i) ?? located(i)),
  })
  await appender.close()
  return Promise.all(['old.json', 'new.json', 'old.csv', 'new.csv'].map((f) => readFile(path.join(dir, f), 'utf8')))
}

describe('streamed round files', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-round-files-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  test('a large round with unfinished and resumed requests: the same bytes and the same parsed object as the in-memory writer', async () => {
    const all = roundRecords(6000)
    const records = all.filter((r) => r.index % 13 !== 5) // never finished
    const [oldJson, newJson, oldCsv, newCsv] = await bothWays(dir, records, all.length, new Set([0, 1, 2, 100, 5999]), {ttft_ms: 20})
    expect(JSON.parse(newJson)).toEqual(JSON.parse(oldJson))
    expect(newJson).toBe(oldJson)
    expect(newCsv).toBe(oldCsv)
    expect(JSON.parse(newJson).requests).toHaveLength(records.length)
    // The lines span several 1 MB read blocks, so block refills (forwards and backwards) were exercised.
    expect(Buffer.byteLength(newJson)).toBeGreaterThan(3 << 20)
  })

  test('an empty round and a one-request round', async () => {
    for (const records of [[], roundRecords(1)]) {
      const [oldJson, newJson, oldCsv, newCsv] = await bothWays(dir, records, 3, new Set())
      expect(newJson).toBe(oldJson)
      expect(newCsv).toBe(oldCsv)
    }
  })

  test('a failed write leaves no file behind (and no temp file)', async () => {
    const records = roundRecords(10)
    async function* failing(): AsyncGenerator<RequestRecord> {
      yield records[0]
      throw new Error('disk gone')
    }
    const summary = summarizeRound(4, 2, records)
    const files = {jsonFile: path.join(dir, 'r.json'), csvFile: path.join(dir, 'r.csv')}
    await expect(writeRoundFiles({...files, configuration: {}, summary, records: failing()})).rejects.toThrow('disk gone')
    const {readdir} = await import('node:fs/promises')
    expect(await readdir(dir)).toEqual([])
  })

  test('requests.jsonl: lines of any length and script land whole, in order, at the byte locations write() returned', async () => {
    const jsonl = path.join(dir, 'requests.jsonl')
    await writeFile(jsonl, 'earlier line ✓\n')
    const appender = new JsonlAppender(jsonl)
    // Several buffers' worth of lines (≈ 1.2 MB), multi-byte text, and lines longer than a whole buffer among them.
    const values = Array.from({length: 4000}, (_, i) => ({i, text: i % 1000 === 7 ? '中'.repeat(100_000) : `é ${'x'.repeat(i % 300)} 中 😀 ${i}`}))
    const at = values.map((v) => appender.write(v))
    await appender.flush()
    const bytes = await readFile(jsonl)
    expect(bytes.toString('utf8')).toBe('earlier line ✓\n' + values.map((v) => JSON.stringify(v) + '\n').join(''))
    values.forEach((v, k) => expect(bytes.subarray(at[k].offset, at[k].offset + at[k].length).toString('utf8')).toBe(JSON.stringify(v)))
    await appender.close()
  })

  test('requests.jsonl lines reach the file on their own, without a flush, within a fraction of a second', async () => {
    const jsonl = path.join(dir, 'requests.jsonl')
    const appender = new JsonlAppender(jsonl)
    const [record] = roundRecords(1)
    appender.write(record)
    let text = ''
    for (const deadline = Date.now() + 2000; text === '' && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      text = await readFile(jsonl, 'utf8').catch(() => '')
    }
    await appender.close()
    expect(text).toBe(JSON.stringify(record) + '\n')
  })
})

describe('the product path writes what the in-memory writer would have', () => {
  let sim: Simulator
  let dir: string
  beforeAll(async () => {
    sim = await startSimulator({baseTtftMs: 2, prefillMsPerToken: 0.01, itlMs: 1, defaultOutputTokens: 6})
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-round-files-run-'))
  })
  afterAll(async () => {
    await sim.close()
    await rm(dir, {recursive: true, force: true})
  })

  test('both rounds: round JSON and CSV equal the old writer over requests.jsonl; summaries equal summarizeRound', async () => {
    const sloFile = path.join(dir, 'slo.yaml')
    await writeFile(sloFile, 'slo:\n  ttft_ms: 5\n  latency_ms: 100000\n')
    const out = path.join(dir, 'out')
    const config = buildRunConfig(flags({endpoint: `${sim.url}/v1/chat/completions`, concurrency: ['3'], 'prometheus-url': `${sim.url}/metrics`, 'output-dir': out, 'num-samples': 12, 'slo-file': sloFile}))
    const run = await runBenchmark(config, {log: () => {}, warn: () => {}})
    const runJson = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8'))
    const all: RequestRecord[] = (await readFile(path.join(out, 'requests.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
    const slo = runJson.slo as Slo

    for (const summary of run.levels[0].rounds) {
      const records = all.filter((r) => r.round === summary.round).sort((a, b) => a.index - b.index)
      expect(records).toHaveLength(12)
      // The old path: the summary from the records (the runner then sets these four fields), the files in memory.
      const old: RoundSummary = {
        ...summarizeRound(3, summary.round, records, slo),
        planned_requests: 12,
        complete: true,
        event_loop: summary.event_loop,
        prometheus: summary.prometheus,
      }
      expect(summary.prometheus!.per_request).toBeDefined()
      expect(summary).toStrictEqual(old)
      const json = await readFile(path.join(out, `concurrency_3_round_${summary.round}.json`), 'utf8')
      expect(json).toBe(JSON.stringify(roundJson(runJson.configuration, old, records, slo), null, 2) + '\n')
      expect(JSON.parse(json).summary).toEqual(JSON.parse(JSON.stringify(flatSummary(old))))
      expect(await readFile(path.join(out, `requests_c3_r${summary.round}.csv`), 'utf8')).toBe(requestsCsv(records, slo))
    }
  })
})

describe('complete', () => {
  test('a round whose requests were all cancelled (second Ctrl-C) is not complete', async () => {
    const slow = await startSimulator({baseTtftMs: 5, prefillMsPerToken: 0.01, itlMs: 200})
    try {
      const body = {api: 'chat' as const, model: SIM_DEFAULTS.model, maxTokens: 20, stream: true, includeUsage: true}
      const samples = [0, 1].map((i) => ({id: `s${i}`, messages: [{role: 'user' as const, content: `hello ${i}`}]}))
      const plan = buildPlan(samples, [2], body, {rounds: 2, salts: [undefined]})
      const stop = new AbortController()
      const cancel = new AbortController()
      const records: RequestRecord[] = []
      const rounds: RoundSummary[] = []
      const endpoint = new URL('/v1/chat/completions', slow.url)
      // Both requests stream for ~4 s; once the server has both, a "second Ctrl-C" cancels them.
      const waitInFlight = (async () => {
        const deadline = Date.now() + 10_000
        while (slow.stats().inFlight < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
        const seen = slow.stats().inFlight
        stop.abort()
        cancel.abort()
        return seen
      })()
      await runPlan(plan, {
        createTransport: (maxSockets) => createMeasuredTransport({endpoint, timeoutMs: 30_000, maxSockets, api: 'chat', stream: true}),
        onRecord: (r) => records.push(r),
        onRound: (summary) => void rounds.push(summary),
        stop: stop.signal,
        cancel: cancel.signal,
      })
      expect(await waitInFlight).toBe(2)
      expect(records.map((r) => [requestKey(r), r.error?.category])).toEqual(expect.arrayContaining([['2/1/0', 'cancelled'], ['2/1/1', 'cancelled']]))
      expect(rounds).toHaveLength(1)
      expect(rounds[0]).toMatchObject({total_requests: 2, planned_requests: 2, failed_requests: 2, complete: false})
    } finally {
      await slow.close()
    }
  })
})
