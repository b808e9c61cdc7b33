/**
 * --client-warmup: before the first level, the runner and the measured transport rehearse against an in-process
 * simulator. The rehearsal must really run the measured path in every dialect, and must leave no trace at the
 * endpoint or in the results.
 */
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import type {ApiKind} from '../../src/http/transport.js'
import {warmUpClient, warmUpClientAndSay} from '../../src/run/client-warmup.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {jsonResponse, openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'
import {runFlags} from '../helpers/run-flags.js'

let server: ScriptedServer | undefined
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-warmup-'))
})
afterEach(async () => {
  await server?.close()
  await rm(dir, {recursive: true, force: true})
})

test.each<[ApiKind, boolean]>([
  ['chat', true],
  ['completions', true],
  ['responses', true],
  ['chat', false],
])('the rehearsal completes every request through the measured path (%s, stream %s)', async (api, stream) => {
  const result = await warmUpClient({api, stream, requests: 24})
  expect(result).toMatchObject({ok: 96, requests: 96}) // 2 levels × 2 rounds × 24
  expect(result.rehearsalMs).toBeGreaterThan(0)
  expect(result.quietMs).toBeGreaterThanOrEqual(0)
})

test('the rehearsal (records and round files, as in a run) leaves no temporary directory behind', async () => {
  const ours = async () => (await readdir(os.tmpdir())).filter((name) => name.startsWith('dual-bench-warmup-')).sort()
  const before = await ours()
  const result = await warmUpClient({api: 'chat', stream: true, requests: 8})
  expect(result.ok).toBe(32)
  expect(await ours()).toEqual(before)
})

test('with the warm-up, the endpoint sees exactly the measured requests and the results hold nothing else', async () => {
  server = await startScriptedServer((req) => (req.method === 'GET' ? jsonResponse(200, {data: [{id: 'm'}]}) : {body: openAiStream({tokens: 3})}))
  const run = async (clientWarmup: boolean) => {
    const out = path.join(dir, clientWarmup ? 'warm' : 'cold')
    const warnings: string[] = []
    const before = server!.requests.length
    const config = buildRunConfig(runFlags({endpoint: server!.endpoint().href, model: 'm', concurrency: ['2'], 'output-dir': out, 'num-samples': 4, 'client-warmup': clientWarmup}))
    expect(config.clientWarmup).toBe(clientWarmup)
    await runBenchmark(config, {log: () => {}, warn: (m) => warnings.push(m)})
    const sent = server!.requests.slice(before)
    const lines = (await readFile(path.join(out, 'requests.jsonl'), 'utf8')).trim().split('\n')
    return {sent: sent.map((r) => `${r.method} ${r.url}`), ids: lines.map((l) => JSON.parse(l).sampleId as string), warnings}
  }
  const cold = await run(false)
  const warm = await run(true)
  expect(warm.sent).toEqual(cold.sent)
  expect(warm.ids.sort()).toEqual(cold.ids.sort())
  expect(warm.ids).toHaveLength(8)
  expect(warm.ids.some((id) => id.includes('warmup'))).toBe(false)
  expect(warm.warnings.filter((w) => /warm-up/i.test(w))).toEqual([])
})

test('the command turns the warm-up on by default; buildRunConfig leaves it off unless asked', () => {
  expect(buildRunConfig(runFlags({})).clientWarmup).toBe(false)
  expect(buildRunConfig(runFlags({'client-warmup': true})).clientWarmup).toBe(true)
})

test('what the run says: one line when it worked, a warning (not a failed run) when it did not', async () => {
  const said: string[] = []
  const say = {log: (l: string) => said.push(`log ${l}`), warn: (l: string) => said.push(`warn ${l}`)}
  await warmUpClientAndSay({api: 'chat', stream: true, requests: 8}, say)
  expect(said).toEqual([expect.stringMatching(/^log Client warm-up: 32 requests to an in-process simulator in [\d.]+ s, nothing sent to the endpoint/)])
  said.length = 0
  // A rehearsal size no array can hold makes the rehearsal itself throw (RangeError).
  await warmUpClientAndSay({api: 'chat', stream: true, requests: 2 ** 32}, say)
  expect(said).toEqual([expect.stringMatching(/^warn Client warm-up skipped \(.+\); the first wave may be timed by cold code\.$/)])
})

test('the rehearsal prints no process warning (dozens of requests in flight listen to its cancel signal)', async () => {
  // In a child process on the built dist/: jest's sandboxed `process` does not see Node's own warnings.
  const script = `import {warmUpClient} from './dist/run/client-warmup.js'
    const r = await warmUpClient({api: 'chat', stream: true, requests: 40})
    if (r.ok !== r.requests) process.exit(3)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const [code] = await once(child, 'exit')
  expect({code, stderr}).toEqual({code: 0, stderr: ''})
})

test('Ctrl-C during the rehearsal stops it early, and nothing is said about it', async () => {
  const said: string[] = []
  const say = {log: (l: string) => said.push(l), warn: (l: string) => said.push(l)}
  await warmUpClientAndSay({api: 'chat', stream: true, requests: 8, stop: AbortSignal.abort()}, say)
  expect(said).toEqual([])

  const ctrlC = new AbortController()
  setTimeout(() => ctrlC.abort(), 30)
  const result = await warmUpClient({api: 'chat', stream: true, requests: 1000, stop: ctrlC.signal})
  expect(result.stopped).toBe(true)
  expect(result.ok).toBeLessThan(result.requests)
  expect(result.quietMs).toBe(0)
})

test("the rehearsal's requests watch the run's own cancel signal: a second Ctrl-C cancels them", async () => {
  // The very signal object matters (its hidden class is what the warmed code is optimized for), and so does the
  // behaviour: a cancelled run does not go on rehearsing.
  const result = await warmUpClient({api: 'chat', stream: true, requests: 8, cancel: AbortSignal.abort()})
  expect(result).toMatchObject({ok: 0, requests: 32, stopped: false})
})
