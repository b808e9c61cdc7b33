import {createServer, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {buildRunConfig} from '../../src/config/run-config.js'
import {runBenchmark} from '../../src/run/run-benchmark.js'
import {runFlags} from '../helpers/run-flags.js'

interface Seen {
  path: string
  body: Record<string, any>
}
/** Answers a request with [status, json body, headers?], or undefined for a normal streamed reply. */
type Rule = (path: string, body: Record<string, any>) => [number, unknown, Record<string, string>?] | undefined

/** A small OpenAI-compatible chat server on 127.0.0.1 whose error answers are given by `rule`; `seen` holds its POSTs. */
async function startServer(rule: Rule): Promise<{url: string; seen: Seen[]; server: Server}> {
  const seen: Seen[] = []
  const server = createServer(async (req: IncomingMessage, res) => {
    const parts: Buffer[] = []
    for await (const part of req) parts.push(part as Buffer)
    if (req.method !== 'POST') {
      // The transport's connection warm-up (a GET); any answer will do.
      res.writeHead(404, {'content-length': 0})
      return res.end()
    }
    const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}')
    seen.push({path: req.url!, body})
    const answer = rule(req.url!, body)
    if (answer) {
      const [status, json, headers] = answer
      const text = json === undefined ? '' : JSON.stringify(json)
      res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers})
      return res.end(text)
    }
    res.writeHead(200, {'content-type': 'text/event-stream'})
    const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{index: 0, delta, finish_reason: finish}]})}\n\n`
    res.write(chunk({role: 'assistant', content: ''}))
    for (const t of ['Par', 'is']) res.write(chunk({content: t}))
    res.write(chunk({}, 'stop'))
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({id: 'x', choices: [], usage: {prompt_tokens: 5, completion_tokens: 2, total_tokens: 7}})}\n\n`)
    res.end('data: [DONE]\n\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server}
}

const OPENAI_MAX_TOKENS: [number, unknown] = [
  400,
  {error: {message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: 'invalid_request_error', param: 'max_tokens', code: 'unsupported_parameter'}},
]

describe('run preflight fallbacks and endpoint forms', () => {
  let dir: string
  let server: Server | undefined
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-preflight-'))
  })
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
    server = undefined
    await rm(dir, {recursive: true, force: true})
  })

  async function run(endpoint: string, extra: Record<string, unknown> = {}) {
    const warnings: string[] = []
    const logs: string[] = []
    const config = buildRunConfig(
      runFlags({prompt: 'What is the capital of France?', dataset: undefined, endpoint, model: 'm', concurrency: ['2'], 'num-requests': 2, 'client-warmup': false, 'output-dir': path.join(dir, 'out'), ...extra}),
    )
    const outcome = await runBenchmark(config, {log: (l) => logs.push(l), warn: (w) => warnings.push(w)}).then(
      (summary) => ({summary, error: undefined}),
      (error: Error & {suggestions?: string[]}) => ({summary: undefined, error}),
    )
    return {...outcome, warnings, logs}
  }

  test('a server that rejects max_tokens: preflight resends with max_completion_tokens, the whole run uses it, one warning', async () => {
    const s = await startServer((_p, b) => ('max_tokens' in b ? OPENAI_MAX_TOKENS : undefined))
    server = s.server
    const {summary, error, warnings} = await run(`${s.url}/v1/chat/completions`, {'max-output-tokens': 16})
    expect(error).toBeUndefined()
    expect(summary!.overall).toBeDefined()
    expect(warnings.filter((w) => /max_completion_tokens/.test(w))).toHaveLength(1)
    const measured = s.seen.slice(2)
    expect(measured.length).toBe(4)
    for (const r of measured) {
      expect(r.body).not.toHaveProperty('max_tokens')
      expect(r.body.max_completion_tokens).toBe(16)
    }
  })

  test('--extra-body max_completion_tokens: max_tokens is never sent, not even by the preflight', async () => {
    const s = await startServer((_p, b) => ('max_tokens' in b ? [400, {error: {message: 'bad field'}}] : undefined))
    server = s.server
    const {error, warnings} = await run(`${s.url}/v1/chat/completions`, {'extra-body': '{"max_completion_tokens": 32}'})
    expect(error).toBeUndefined()
    expect(warnings.join('\n')).not.toMatch(/max_tokens/)
    expect(s.seen.length).toBe(5)
    for (const r of s.seen) {
      expect(r.body).not.toHaveProperty('max_tokens')
      expect(r.body.max_completion_tokens).toBe(32)
    }
  })

  test('stream_options rejected and the resend fails too: exit-2 error, no stream_options warning', async () => {
    const s = await startServer((_p, b) =>
      b.stream_options ? [400, {detail: [{type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted'}]}] : [503, {error: {message: 'model is loading'}}],
    )
    server = s.server
    const {error, warnings} = await run(`${s.url}/v1/chat/completions`)
    expect(error?.message).toMatch(/preflight request failed.*503.*model is loading/)
    expect(s.seen.length).toBe(2)
    expect(warnings.join('\n')).not.toMatch(/stream_options/)
  })

  test('"Extra inputs are not permitted" about another field is not taken for a stream_options rejection', async () => {
    const s = await startServer(() => [400, {detail: [{type: 'extra_forbidden', loc: ['body', 'ignore_eos'], msg: 'Extra inputs are not permitted'}]}])
    server = s.server
    const {error, warnings} = await run(`${s.url}/v1/chat/completions`, {'extra-body': '{"ignore_eos": true}'})
    expect(error?.message).toMatch(/ignore_eos/)
    expect(s.seen.length).toBe(1)
    expect(warnings.join('\n')).not.toMatch(/stream_options/)
  })

  test.each(['', '/v1', '/v1/'])('base URL "%s": run completes against /v1/chat/completions and says which URL it uses', async (suffix) => {
    const s = await startServer((p) => (p === '/v1/chat/completions' ? undefined : [404, {detail: 'Not Found'}]))
    server = s.server
    const {error, logs, summary} = await run(`${s.url}${suffix}`)
    expect(error).toBeUndefined()
    expect(summary!.endpoint).toBe(`${s.url}/v1/chat/completions`)
    expect(s.seen.every((r) => r.path === '/v1/chat/completions')).toBe(true)
    expect(logs.filter((l) => l.includes(`sending requests to ${s.url}/v1/chat/completions`))).toHaveLength(1)
  })

  test('a trailing slash answered with 307: the error names the Location and says to use it in --endpoint', async () => {
    const s = await startServer((p) => (p.endsWith('/') ? [307, undefined, {location: p.slice(0, -1)}] : undefined))
    server = s.server
    const {error} = await run(`${s.url}/v1/chat/completions/`)
    expect(error?.message).toMatch(/307/)
    expect(error!.suggestions!.join('\n')).toMatch(new RegExp(`redirects \\S+ to \\S+/v1/chat/completions \\(HTTP 307\\).*--endpoint ${s.url}/v1/chat/completions$`))
  })
})
