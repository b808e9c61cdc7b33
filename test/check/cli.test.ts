/**
 * `dual-bench check` as a user runs it: the compiled CLI in a child process (build first: `npx tsc -p .`).
 * Exit codes, the .env of seed 003 (MODEL_URL, MODEL_KEY, MODEL_NAME), and that the key is never printed.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {runCli} from '../helpers/run-cli.js'

const KEY = 'sk-cli-SECRET-91b2e0'

let dir: string
let server: Server | undefined
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'dual-bench-check-'))
})
afterEach(async () => {
  rmSync(dir, {recursive: true, force: true})
  if (server) {
    server.closeAllConnections()
    await new Promise((resolve) => server!.close(resolve))
    server = undefined
  }
})

/** A server that rejects every request with 401 and echoes the key it got, as some gateways do. */
async function rejectingServer(): Promise<string> {
  server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(401, {'content-type': 'application/json'})
      res.end(JSON.stringify({error: {message: `invalid key ${req.headers.authorization ?? ''}`}}))
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('dual-bench check (CLI)', () => {
  test('without --endpoint or .env it uses the built-in simulator, says so, and exits 0', async () => {
    const r = await runCli(['check'], {cwd: dir})
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('the built-in simulator')
    expect(r.stdout).toMatch(/TTFT\s+\d+(\.\d)? ms/)
    expect(r.stdout).toMatch(/Reply\s+".+"/)
    expect(r.stdout).toContain('✓ the endpoint works')
  })

  test('--json prints the result object', async () => {
    const r = await runCli(['check', '--json'], {cwd: dir})
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ok: true, api: 'chat', model: 'dual-bench-sim', request: {ok: true, streamed: true}})
    expect(result.request.ttftMs).toBeGreaterThan(0)
  })

  test('.env MODEL_URL + MODEL_KEY against a 401 server: exit 1, the diagnosis, and the key nowhere in the output', async () => {
    const url = await rejectingServer()
    writeFileSync(path.join(dir, '.env'), `MODEL_URL=${url}/v1\nMODEL_KEY=${KEY}\nMODEL_NAME=some-model\n`)
    const r = await runCli(['check'], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('from MODEL_URL in ./.env')
    expect(r.stdout).toContain('sent (from ./.env)')
    expect(r.stdout).toContain('the server rejected the API key — check --api-key / OPENAI_API_KEY / .env MODEL_KEY')
    expect(r.stdout + r.stderr).not.toContain(KEY)
    const json = await runCli(['check', '--json', '--api-key', KEY], {cwd: dir})
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ok: false, apiKeySent: true, request: {error: {httpStatus: 401}}})
    expect(json.stdout + json.stderr).not.toContain(KEY)
  })

  test('a closed port exits 1 with "nothing listens on"', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    const r = await runCli(['check', '--endpoint', `http://127.0.0.1:${port}/v1/chat/completions`, '--api-key', KEY], {cwd: dir})
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`nothing listens on 127.0.0.1:${port}`)
    expect(r.stdout + r.stderr).not.toContain(KEY)
  })

  test('bad flags exit 2', async () => {
    expect((await runCli(['check', '--endpoint', 'ftp://host/v1'], {cwd: dir})).code).toBe(2)
    expect((await runCli(['check', '--endpoint', 'http://127.0.0.1:9/generate'], {cwd: dir})).code).toBe(2)
    expect((await runCli(['check', '--api', 'grpc'], {cwd: dir})).code).toBe(2)
    expect((await runCli(['check', '--timeout', '0'], {cwd: dir})).code).toBe(2)
  })
})
