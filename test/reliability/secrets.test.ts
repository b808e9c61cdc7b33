/**
 * Issue #5, part 4: the API key never appears in any output file, stdout or stderr — whether it came from
 * --api-key, the OPENAI_API_KEY environment variable or MODEL_KEY in ./.env, and even when the server echoes
 * the Authorization header back in an error.
 *
 * The server here insists on the key (401 otherwise), so a passing run proves the key was actually read and
 * sent; the grep then proves it was not written anywhere.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {jsonResponse, openAiStream, startScriptedServer, type ReceivedRequest, type ScriptedResponse, type ScriptedServer} from '../helpers/scripted-server.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {filesContaining, readRecords, tempDir, writeDataset} from './support.js'

const KEY = `sk-dualbench-${randomBytes(12).toString('hex')}`

/** A 401 whose message echoes the Authorization header, as some gateways do. */
const echo401 = (req: ReceivedRequest): ScriptedResponse =>
  jsonResponse(401, {error: {message: `Incorrect API key provided. Authorization: ${req.headers.authorization ?? '(none)'}`, type: 'invalid_request_error', code: 'invalid_api_key'}})

const models = jsonResponse(200, {object: 'list', data: [{id: 'm', object: 'model'}]})
const okStream: ScriptedResponse = {body: openAiStream({tokens: 3, usage: {prompt_tokens: 5, completion_tokens: 3}})}

/** /v1/models and completions answer normally only with the right key; anything else gets the echoing 401. */
function guarded(onCompletion: (req: ReceivedRequest, n: number) => ScriptedResponse = () => okStream) {
  let completions = 0
  return (req: ReceivedRequest): ScriptedResponse => {
    if (req.headers.authorization !== `Bearer ${KEY}`) return echo401(req)
    if (req.method === 'GET') return models
    return onCompletion(req, completions++)
  }
}

describe('the API key is never written or printed (CLI)', () => {
  let server: ScriptedServer
  let dir: string
  let cleanup: () => Promise<void>
  let dataset: string

  beforeAll(async () => {
    server = await startScriptedServer(guarded())
    ;({dir, cleanup} = await tempDir('secrets'))
    dataset = await writeDataset(dir, 3)
  })
  afterAll(async () => {
    await server.close()
    await cleanup()
  })

  /** Runs the CLI and returns where the key turned up (expected: nowhere). */
  async function leaks(name: string, extra: string[], opts: {cwd?: string; env?: Record<string, string>} = {}, secret = KEY): Promise<{r: CliResult; out: string; leaked: string[]}> {
    const out = path.join(dir, name)
    const r = await runCli(['run', '--dataset', dataset, '--endpoint', server.endpoint().toString(), '--output-dir', out, '--concurrency', '2', ...extra], opts)
    const leaked = [...(r.stdout.includes(secret) ? ['stdout'] : []), ...(r.stderr.includes(secret) ? ['stderr'] : [])]
    try {
      leaked.push(...(await filesContaining(out, secret)))
    } catch {
      // no output directory: nothing there to leak
    }
    return {r, out, leaked}
  }

  test.each<[string, string[], (cwd: string) => Promise<{env?: Record<string, string>}>]>([
    ['--api-key', ['--api-key', KEY], async () => ({})],
    ['env OPENAI_API_KEY', [], async () => ({env: {OPENAI_API_KEY: KEY}})],
    ['MODEL_KEY in ./.env', [], async (cwd) => {
      await writeFile(path.join(cwd, '.env'), `MODEL_KEY=${KEY}\n`)
      return {}
    }],
  ])('key from %s: the run authenticates and the key appears in no output', async (name, extra, prepare) => {
    const slug = name.replace(/\W+/g, '_')
    // Its own working directory, so only this case sees the .env file.
    const cwd = path.join(dir, `cwd${slug}`)
    await mkdir(cwd)
    const {env} = await prepare(cwd)
    const {r, out, leaked} = await leaks(slug, extra, {cwd, env})
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)})
    expect(leaked).toEqual([])
    // The key really was used: every measured request got through the guarded server.
    expect((await readRecords(out)).every((x) => x.ok)).toBe(true)
  })

  test('a wrong key: the 401 that echoes the Authorization header is reported without the key (models list and preflight)', async () => {
    const wrong = `sk-wrong-${randomBytes(8).toString('hex')}`
    for (const extra of [[], ['--model', 'm']]) {
      const {r, leaked} = await leaks(`wrong${extra.length}`, ['--api-key', wrong, ...extra], {}, wrong)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/401/)
      expect(r.stderr).toMatch(/--api-key|OPENAI_API_KEY/)
      // The echo did reach the message (masked), so the redaction is what kept the key out.
      expect(r.stderr).toMatch(/Bearer \*\*\*/)
      expect(leaked).toEqual([])
    }
  })

  test('mid-run failures that echo the header (5xx body, in-stream error event, 401) keep the key out of every record', async () => {
    const echoing = await startScriptedServer(
      guarded((req, n) => {
        const auth = String(req.headers.authorization)
        if (n === 0) return okStream // the preflight
        if (n % 3 === 1) return jsonResponse(500, {error: {message: `upstream rejected request with headers {Authorization: ${auth}}`}})
        if (n % 3 === 2) return {body: [{sse: {error: {message: `stream aborted; you sent ${auth} (key ${KEY})`}}}]}
        return jsonResponse(401, {error: {message: `key ${KEY} revoked`}})
      }),
    )
    try {
      const out = path.join(dir, 'midrun')
      const r = await runCli(['run', '--dataset', dataset, '--endpoint', echoing.endpoint().toString(), '--output-dir', out, '--api-key', KEY, '--concurrency', '1'])
      expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)})
      const records = await readRecords(out)
      // The failures did happen, and their messages are there, with the key masked.
      expect(new Set(records.map((x) => x.error?.category))).toEqual(new Set(['http_5xx', 'server_error_event', 'http_4xx']))
      expect(records.every((x) => x.error?.message.includes('***'))).toBe(true)
      expect([r.stdout, r.stderr].join('\n')).not.toContain(KEY)
      expect(await filesContaining(out, KEY)).toEqual([])
    } finally {
      await echoing.close()
    }
  })

  test('a server that echoes the Authorization header as generated text: the key is not written either', async () => {
    const parrot = await startScriptedServer(
      guarded((req) => ({body: openAiStream({tokens: [`You sent: ${req.headers.authorization}`, ' ok'], usage: {prompt_tokens: 5, completion_tokens: 2}})})),
    )
    try {
      const out = path.join(dir, 'parrot')
      const r = await runCli(['run', '--dataset', dataset, '--endpoint', parrot.endpoint().toString(), '--output-dir', out, '--api-key', KEY])
      expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)})
      expect((await readRecords(out)).every((x) => x.ok)).toBe(true)
      expect([r.stdout, r.stderr].join('\n')).not.toContain(KEY)
      expect(await filesContaining(out, KEY)).toEqual([])
    } finally {
      await parrot.close()
    }
  })
})
