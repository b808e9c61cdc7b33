import {afterAll, beforeAll, describe, expect, test} from '@jest/globals'

import PromCheck from '../../src/commands/prom-check.js'
import {fixtureText} from './fixtures.js'
import {startMetricsServer, type MetricsServer} from './metrics-server.js'

/** Runs the command in-process and captures its stdout (oclif's this.log / logJson go through console.log). */
async function runCommand(argv: string[]): Promise<{stdout: string; result?: unknown; exit?: number; error?: Error}> {
  const chunks: string[] = []
  const log = console.log
  console.log = (...args: unknown[]) => {
    chunks.push(`${args.map(String).join(' ')}\n`)
  }
  try {
    const result = await PromCheck.run(argv, process.cwd())
    return {stdout: chunks.join(''), result, exit: 0}
  } catch (error) {
    const err = error as Error & {oclif?: {exit?: number}}
    return {stdout: chunks.join(''), exit: err.oclif?.exit, error: err}
  } finally {
    console.log = log
  }
}

let server: MetricsServer
let deadUrl: string

beforeAll(async () => {
  server = await startMetricsServer({render: () => fixtureText('vllm')})
  const dead = await startMetricsServer({render: () => ''})
  deadUrl = dead.url
  await dead.close()
})

afterAll(async () => {
  await server.close()
})

describe('dual-bench prom-check', () => {
  test('exit 0 with --json: the result is printed as JSON', async () => {
    const {stdout, result, exit} = await runCommand(['--prometheus-url', server.url, '--prometheus-preset', 'vllm', '--json'])
    expect(exit).toBe(0)
    const printed = JSON.parse(stdout)
    expect(printed).toMatchObject({exitCode: 0, reachable: true, status: 200, families: {total: expect.any(Number)}})
    expect(result).toMatchObject({exitCode: 0})
  })

  test('exit 2 for a missing metric; --json output is still the result, not an error object', async () => {
    const {stdout, exit} = await runCommand(['--prometheus-url', server.url, '--prometheus-metrics', 'vllm:prefix_cache_hit', 'vllm:kv_cache_usage_perc', '--json'])
    expect(exit).toBe(2)
    const printed = JSON.parse(stdout)
    expect(printed.exitCode).toBe(2)
    expect(printed.metrics[0]).toMatchObject({selector: 'vllm:prefix_cache_hit', found: false, suggestions: expect.arrayContaining(['vllm:prefix_cache_hits_total'])})
    expect(printed.metrics[1]).toMatchObject({found: true})
  })

  test('exit 1 when unreachable; the human report says why', async () => {
    const {stdout, exit} = await runCommand(['--prometheus-url', deadUrl, '--prometheus-metrics', 'x'])
    expect(exit).toBe(1)
    expect(stdout).toContain('Problem    connection: ECONNREFUSED')
    expect(stdout).toContain('Result     endpoint not usable (exit 1)')
  })

  test('a bad selector is an input error (exit 2) naming the flag', async () => {
    const {exit, error} = await runCommand(['--prometheus-url', server.url, '--prometheus-metrics', 'a{b=c}'])
    expect(exit).toBe(2)
    expect(error?.message).toMatch(/--prometheus-metrics "a\{b=c\}"/)
  })
})
