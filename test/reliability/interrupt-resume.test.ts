/**
 * Issue #5, part 2: Ctrl-C and --resume, through the real CLI. A first SIGINT lets in-flight requests finish,
 * writes every summary and exits 130; `--resume DIR` finishes the run without measuring anything twice; a
 * resume with a differing flag is refused (exit 2); a second SIGINT cancels in-flight requests.
 *
 * The simulator streams slowly (a request takes a few hundred ms) so a signal sent once the first records
 * exist lands in the middle of round 1.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {runCli, spawnCli, waitFor} from '../helpers/run-cli.js'
import {checksums, keyOf, readRecords, readRound, readRunJson, tempDir, writeDataset} from './support.js'

const SAMPLES = 6
const LEVELS = [2, 3]
const MAX_TOKENS = 8

/** Lines in DIR/requests.jsonl so far (0 when it does not exist yet). */
async function recordCount(dir: string): Promise<number> {
  if (!existsSync(path.join(dir, 'requests.jsonl'))) return 0
  try {
    return (await readRecords(dir)).length
  } catch {
    return 0 // a line being written
  }
}

describe('interrupt and resume (CLI, SIGINT)', () => {
  let sim: Simulator
  let dir: string
  let cleanup: () => Promise<void>
  let dataset: string

  beforeAll(async () => {
    // 60 ms per token: one request streams for ~0.5 s, the slack a SIGINT sent after the first record has to
    // land before round 1's last wave starts (then the round is cut, not finished).
    sim = await startSimulator({baseTtftMs: 5, prefillMsPerToken: 0.01, itlMs: 60})
    ;({dir, cleanup} = await tempDir('resume'))
    dataset = await writeDataset(dir, SAMPLES)
  })
  afterAll(async () => {
    await sim.close()
    await cleanup()
  })

  const args = (out: string) => [
    'run',
    '--dataset', dataset,
    '--endpoint', `${sim.url}/v1/chat/completions`,
    '--concurrency', ...LEVELS.map(String),
    '--max-output-tokens', String(MAX_TOKENS),
    '--output-dir', out,
  ]

  test('SIGINT mid-round → exit 130 and partial results; a differing flag is refused; --resume finishes with the counts of an uninterrupted run', async () => {
    // The reference: the same run, uninterrupted.
    const reference = path.join(dir, 'reference')
    const ref = await runCli(args(reference))
    expect({code: ref.code, stderr: ref.stderr}).toEqual({code: 0, stderr: expect.any(String)})

    const out = path.join(dir, 'interrupted')
    const cli = spawnCli(args(out))
    await waitFor(async () => (await recordCount(out)) >= 1, 'the first measured record')
    cli.child.kill('SIGINT')
    const stopped = await cli.done
    expect({code: stopped.code, stderr: stopped.stderr}).toEqual({code: 130, stderr: expect.stringContaining(`--resume ${out}`)})
    expect(stopped.stderr).toMatch(/SIGINT: finishing in-flight requests/)

    const run = await readRunJson(out)
    expect(run.status).toBe('interrupted')
    const partial = await readRound(out, LEVELS[0], 1)
    expect(partial.summary.complete).toBe(false)
    expect(partial.summary.total_requests).toBeGreaterThanOrEqual(1)
    expect(partial.summary.total_requests).toBeLessThan(SAMPLES)
    expect(existsSync(path.join(out, 'metrics_summary.csv'))).toBe(true)
    const before = await readRecords(out)
    // The first SIGINT drains: every request that was sent finished normally.
    expect(before.every((r) => r.ok)).toBe(true)
    expect(before).toHaveLength(partial.summary.total_requests)
    expect(existsSync(path.join(out, `concurrency_${LEVELS[0]}_round_2.json`))).toBe(false)

    // A differing flag is refused, names the flag, and leaves the directory as it was.
    const sums = await checksums(out)
    const refused = await runCli(['run', '--resume', out, '--concurrency', '3'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/--concurrency/)
    expect(refused.stderr).not.toMatch(/^\s+at /m)
    expect(await checksums(out)).toEqual(sums)

    const resumed = await runCli(['run', '--resume', out])
    expect({code: resumed.code, stderr: resumed.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    expect((await readRunJson(out)).status).toBe('complete')

    for (const c of LEVELS) {
      for (const round of [1, 2]) {
        const got = (await readRound(out, c, round)).summary
        const want = (await readRound(reference, c, round)).summary
        expect({c, round, total: got.total_requests, ok: got.successful_requests, complete: got.complete}).toEqual({
          c,
          round,
          total: want.total_requests,
          ok: want.successful_requests,
          complete: true,
        })
      }
    }
    const records = await readRecords(out)
    const keys = records.map(keyOf)
    // Nothing measured twice, nothing missing.
    expect(new Set(keys).size).toBe(keys.length)
    expect(records).toHaveLength((await readRecords(reference)).length)
    // The records kept from the first invocation are the very same lines.
    expect(records.slice(0, before.length)).toEqual(before)
    expect(records.slice(before.length).every((r) => r.session === 2)).toBe(true)
  })

  test('a second SIGINT cancels in-flight requests (recorded as cancelled); --resume then measures them', async () => {
    const slow = await startSimulator({baseTtftMs: 5, prefillMsPerToken: 0.01, itlMs: 150})
    try {
      const out = path.join(dir, 'cancelled')
      const small = await writeDataset(dir, 2, 'two.jsonl')
      const runArgs = ['run', '--dataset', small, '--endpoint', `${slow.url}/v1/chat/completions`, '--concurrency', '2', '--max-output-tokens', String(MAX_TOKENS), '--output-dir', out]
      const cli = spawnCli(runArgs)
      // Both measured requests are streaming (each takes ~1.2 s) — the preflight asks for 4 tokens and has ended.
      await waitFor(() => slow.stats().inFlight === 2, 'two requests in flight')
      cli.child.kill('SIGINT')
      await waitFor(() => cli.stderr().includes('finishing in-flight'), 'the first SIGINT message')
      cli.child.kill('SIGINT')
      const r = await cli.done
      expect({code: r.code, stderr: r.stderr}).toEqual({code: 130, stderr: expect.stringMatching(/cancelling in-flight requests/)})

      const records = await readRecords(out)
      expect(records.map((x) => x.error?.category)).toEqual(['cancelled', 'cancelled'])
      const round = await readRound(out, 2, 1)
      expect(round.summary.failures.cancelled.count).toBe(2)
      expect((await readRunJson(out)).status).toBe('interrupted')
      await waitFor(() => slow.stats().inFlight === 0, 'the server to see the cancelled requests go away')

      // A cancelled request was never measured: an uninterrupted run would have measured it, so must the resume.
      const resumed = await runCli(['run', '--resume', out])
      expect({code: resumed.code, stderr: resumed.stderr}).toEqual({code: 0, stderr: expect.any(String)})
      for (const n of [1, 2]) {
        const summary = (await readRound(out, 2, n)).summary
        expect({round: n, ok: summary.successful_requests, failures: summary.failures, complete: summary.complete}).toEqual({round: n, ok: 2, failures: {}, complete: true})
      }
      const measured = (await readRecords(out)).filter((x) => x.error?.category !== 'cancelled')
      expect(new Set(measured.map(keyOf)).size).toBe(measured.length)
      expect(measured).toHaveLength(4)
    } finally {
      await slow.close()
    }
  })
})
