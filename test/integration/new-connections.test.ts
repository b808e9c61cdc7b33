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
import {newConnectionsWarning} from '../../src/summary/new-connections.js'
import {summarize} from '../../src/summary/stats.js'
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

interface RoundFile {
  summary: {connections: {reused: number; opened: number; connect_ms: {count: number; avg: number | null}}}
  requests: {reused_connection: boolean | null; connect_ms: number | null}[]
}

async function runAgainst(close: boolean): Promise<{warnings: string[]; rows: RoundFile['requests']; connections: RoundFile['summary']['connections']}> {
  const headers: Record<string, string> = close ? {connection: 'close'} : {}
  server = await startScriptedServer((req) =>
    req.method === 'GET' ? jsonResponse(200, {data: [{id: 'm'}]}, headers) : {headers, body: openAiStream({tokens: 2})},
  )
  const out = path.join(dir, close ? 'close' : 'keep')
  const warnings: string[] = []
  const config = buildRunConfig(runFlags({endpoint: server.endpoint().href, model: 'm', concurrency: ['2'], 'output-dir': out, 'num-samples': 4}))
  await runBenchmark(config, {log: () => {}, warn: (m) => warnings.push(m)})
  const round = JSON.parse(await readFile(path.join(out, 'concurrency_2_round_1.json'), 'utf8')) as RoundFile
  return {warnings, rows: round.requests, connections: round.summary.connections}
}

test('a server that closes every connection: each measured request opened one, and the run warns per round', async () => {
  const {warnings, rows, connections} = await runAgainst(true)
  expect(rows.map((r) => r.reused_connection)).toEqual([false, false, false, false])
  expect(rows.every((r) => (r.connect_ms ?? -1) >= 0)).toBe(true)
  expect(connections).toMatchObject({reused: 0, opened: 4, connect_ms: {count: 4}})
  expect(connections.connect_ms.avg).toBeGreaterThanOrEqual(0)
  expect(warnings.filter((w) => /had to open a new connection/.test(w))).toEqual([
    expect.stringMatching(/^Concurrency 2 round 1: 4 of 4 request\(s\) had to open a new connection .* ms on average/),
    expect.stringMatching(/^Concurrency 2 round 2: 4 of 4 request\(s\)/),
  ])
})

test('a keep-alive server: no measured request opens a connection, no warning', async () => {
  const {warnings, rows, connections} = await runAgainst(false)
  expect(rows.map((r) => r.reused_connection)).toEqual([true, true, true, true])
  expect(connections).toMatchObject({reused: 4, opened: 0, connect_ms: {count: 0, avg: null}})
  expect(warnings.filter((w) => /new connection/.test(w))).toEqual([])
})

test('the warning counts the requests that opened a connection, and averages the timed connects', () => {
  const round = (opened: (number | undefined)[], reused: number) => ({
    concurrency: 8,
    round: 1,
    total_requests: 10,
    connections: {reused, opened: opened.length, connect_ms: summarize(opened)},
  })
  expect(newConnectionsWarning(round([2, 4, undefined], 7))).toMatch(/^Concurrency 8 round 1: 3 of 10 request\(s\) had to open .*3\.0 ms on average/)
  expect(newConnectionsWarning(round([undefined], 9))).toMatch(/1 of 10 request\(s\) .*TTFT\);/)
  expect(newConnectionsWarning(round([], 10))).toBeUndefined()
  // A summary read back from an older version's files has no connection block.
  expect(newConnectionsWarning({concurrency: 8, round: 1, total_requests: 10})).toBeUndefined()
})
