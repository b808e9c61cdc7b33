/**
 * A server that closes every connection after its response (`Connection: close`): the level's warm-up
 * connections are gone when the measured requests start, so each pays for a connect inside its TTFT. The run says
 * so, and the records show it.
 */
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {NewConnections} from '../../src/summary/new-connections.js'
import {jsonResponse, openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'
import {runFlags} from '../helpers/run-flags.js'

let server: ScriptedServer | undefined
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-connections-'))
})
afterEach(async () => {
  await server?.close()
  await rm(dir, {recursive: true, force: true})
})

async function runAgainst(close: boolean): Promise<{warnings: string[]; rows: {reused_connection: boolean | null; connect_ms: number | null}[]}> {
  const headers: Record<string, string> = close ? {connection: 'close'} : {}
  server = await startScriptedServer((req) =>
    req.method === 'GET' ? jsonResponse(200, {data: [{id: 'm'}]}, headers) : {headers, body: openAiStream({tokens: 2})},
  )
  const out = path.join(dir, close ? 'close' : 'keep')
  const warnings: string[] = []
  const config = buildRunConfig(runFlags({endpoint: server.endpoint().href, model: 'm', concurrency: ['2'], 'output-dir': out, 'num-samples': 4}))
  await runBenchmark(config, {log: () => {}, warn: (m) => warnings.push(m)})
  const round = JSON.parse(await readFile(path.join(out, 'concurrency_2_round_1.json'), 'utf8'))
  return {warnings, rows: round.requests}
}

test('a server that closes every connection: each measured request opened one, and the run warns per round', async () => {
  const {warnings, rows} = await runAgainst(true)
  expect(rows.map((r) => r.reused_connection)).toEqual([false, false, false, false])
  expect(rows.every((r) => (r.connect_ms ?? -1) >= 0)).toBe(true)
  expect(warnings.filter((w) => /had to open a new connection/.test(w))).toEqual([
    expect.stringMatching(/^Concurrency 2 round 1: 4 of 4 request\(s\) had to open a new connection .* ms on average/),
    expect.stringMatching(/^Concurrency 2 round 2: 4 of 4 request\(s\)/),
  ])
})

test('a keep-alive server: no measured request opens a connection, no warning', async () => {
  const {warnings, rows} = await runAgainst(false)
  expect(rows.map((r) => r.reused_connection)).toEqual([true, true, true, true])
  expect(warnings.filter((w) => /new connection/.test(w))).toEqual([])
})

test('NewConnections counts per round and forgets a round once taken', () => {
  const counts = new NewConnections()
  counts.note({level: 8, round: 1, reusedConnection: false, connectMs: 2})
  counts.note({level: 8, round: 1, reusedConnection: false, connectMs: 4})
  counts.note({level: 8, round: 1, reusedConnection: true})
  counts.note({level: 8, round: 2})
  expect(counts.takeWarning(8, 1, 10)).toMatch(/^Concurrency 8 round 1: 2 of 10 request\(s\) .*3\.0 ms on average/)
  expect(counts.takeWarning(8, 1, 10)).toBeUndefined()
  expect(counts.takeWarning(8, 2, 10)).toBeUndefined()
})
