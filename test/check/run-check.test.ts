import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {runCheck, type CheckResult} from '../../src/check/run-check.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {selfSignedCert} from '../http/tls-cert.js'

const KEY = 'sk-test-SECRET-7f3a9c'
const servers: Server[] = []

/** A tiny server on 127.0.0.1:0 answering every request with `handler`; closed after each test. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void, tls?: {key: string; cert: string}): Promise<string> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => handler(req, res, body))
  }
  const server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const s = createHttpServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, {'content-type': 'application/json'})
  res.end(JSON.stringify(value))
}
const text = (r: CheckResult) => r.diagnosis.map((d) => `${d.level}: ${d.text}`).join('\n')

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})

describe('runCheck against the simulator', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({model: 'sim-model', itlMs: 1, baseTtftMs: 1})
  })
  afterAll(() => sim.close())

  test('chat: lists the model, streams a reply, reports TTFT, latency, tokens and the text', async () => {
    const r = await runCheck({endpoint: new URL(`${sim.url}/v1/chat/completions`), api: 'chat', timeoutMs: 10_000})
    expect(r.ok).toBe(true)
    expect(r.models).toMatchObject({ok: true, ids: ['sim-model'], url: `${sim.url}/v1/models`})
    expect(r).toMatchObject({model: 'sim-model', modelSource: 'server'})
    expect(r.request).toMatchObject({ok: true, streamed: true, outputTokens: 32, outputTokensSource: 'usage', cachedTokens: expect.any(Number), finishReason: 'length'})
    expect(r.request!.ttftMs!).toBeGreaterThan(0)
    expect(r.request!.latencyMs!).toBeGreaterThan(r.request!.ttftMs!)
    expect(r.request!.outputPreview!.trim().split(' ')).toHaveLength(32)
    expect(r.diagnosis.at(-1)).toEqual({level: 'ok', text: 'the endpoint works: streamed a reply from model "sim-model"'})
  })

  test('completions API works too', async () => {
    const r = await runCheck({endpoint: new URL(`${sim.url}/v1/completions`), api: 'completions', timeoutMs: 10_000})
    expect(r.ok).toBe(true)
    expect(r.request!.streamed).toBe(true)
  })

  test('a model the server does not have: 404, and the models it does have', async () => {
    const r = await runCheck({endpoint: new URL(`${sim.url}/v1/chat/completions`), api: 'chat', model: 'gpt-4o', modelSource: 'flag', timeoutMs: 10_000})
    expect(r.ok).toBe(false)
    expect(r.request!.error).toMatchObject({httpStatus: 404})
    expect(text(r)).toContain('the server has no model "gpt-4o"')
    expect(text(r)).toContain('the server has: sim-model — pass --model sim-model')
  })

  test('a wrong path: 404 on the model list and on the request, said to be the path', async () => {
    const r = await runCheck({endpoint: new URL(`${sim.url}/api/chat/completions`), api: 'chat', model: 'sim-model', timeoutMs: 10_000})
    expect(r.ok).toBe(false)
    expect(r.models.ok).toBe(false)
    expect(text(r)).toMatch(/GET \/api\/models returned HTTP 404: the server has no model list there/)
    expect(text(r)).toMatch(/POST \/api\/chat\/completions returned HTTP 404: wrong path/)
  })

  test('a server that rejects stream_options is retried without them and warned about', async () => {
    const strict = await startSimulator({rejectStreamOptions: true, itlMs: 0, baseTtftMs: 0})
    try {
      const r = await runCheck({endpoint: new URL(`${strict.url}/v1/chat/completions`), api: 'chat', timeoutMs: 10_000})
      expect(r.ok).toBe(true)
      expect(r.streamOptionsRejected).toBe(true)
      expect(text(r)).toMatch(/rejects stream_options/)
    } finally {
      await strict.close()
    }
  })
})

describe('runCheck against failing servers', () => {
  test('401 everywhere: the key was rejected, and the key never appears in the result even when the server echoes it', async () => {
    const url = await serve((req, res) => json(res, 401, {error: {message: `Incorrect API key provided: ${req.headers.authorization?.slice(7)}`, type: 'invalid_request_error', code: 'invalid_api_key'}}))
    const r = await runCheck({endpoint: new URL(`${url}/v1/chat/completions`), api: 'chat', apiKey: KEY, model: 'm', modelSource: 'flag', timeoutMs: 5000})
    expect(r.ok).toBe(false)
    expect(r.request!.error).toMatchObject({category: 'http_4xx', httpStatus: 401})
    expect(text(r)).toMatch(/returned HTTP 401 \(Incorrect API key provided: \*\*\*\): the server rejected the API key — check --api-key \/ OPENAI_API_KEY \/ \.env MODEL_KEY/)
    // Explained once for the request; the model list failing the same way is not repeated.
    expect(text(r).match(/rejected the API key/g)).toHaveLength(1)
    expect(JSON.stringify(r)).not.toContain(KEY)
    expect(JSON.stringify(r)).not.toContain('SECRET')
  })

  test('403 with no key sent says so', async () => {
    const url = await serve((_req, res) => json(res, 403, {error: {message: 'Forbidden'}}))
    const r = await runCheck({endpoint: new URL(`${url}/v1/chat/completions`), api: 'chat', model: 'm', timeoutMs: 5000})
    expect(text(r)).toMatch(/HTTP 403 \(Forbidden\): the server rejected the API key/)
    expect(text(r)).toMatch(/no API key was sent/)
  })

  test('connection refused: nothing listens on host:port, and no request is sent', async () => {
    const port = await closedPort()
    const r = await runCheck({endpoint: new URL(`http://127.0.0.1:${port}/v1/chat/completions`), api: 'chat', model: 'm', timeoutMs: 5000})
    expect(r.ok).toBe(false)
    expect(r.request).toBeUndefined()
    expect(text(r)).toContain(`nothing listens on 127.0.0.1:${port} (connection refused)`)
  })

  test('a self-signed certificate: suggests --insecure; with --insecure it works', async () => {
    const tls = selfSignedCert()
    const url = await serve((req, res, body) => {
      if (req.url === '/v1/models') return json(res, 200, {data: [{id: 'tls-model'}]})
      const stream = JSON.parse(body).stream === true
      if (!stream) return json(res, 400, {error: {message: 'stream expected'}})
      res.writeHead(200, {'content-type': 'text/event-stream'})
      res.write(`data: ${JSON.stringify({choices: [{index: 0, delta: {content: 'Ready.'}, finish_reason: null}]})}\n\n`)
      res.write(`data: ${JSON.stringify({choices: [{index: 0, delta: {}, finish_reason: 'stop'}], usage: {prompt_tokens: 9, completion_tokens: 2, prompt_tokens_details: {cached_tokens: 0}}})}\n\n`)
      res.end('data: [DONE]\n\n')
    }, tls)
    const endpoint = new URL(`${url}/v1/chat/completions`)
    const strict = await runCheck({endpoint, api: 'chat', model: 'tls-model', timeoutMs: 5000})
    expect(strict.ok).toBe(false)
    expect(text(strict)).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ was not accepted/)
    expect(text(strict)).toMatch(/pass --insecure \(only for such servers\)/)
    const insecure = await runCheck({endpoint, api: 'chat', insecure: true, timeoutMs: 5000})
    expect(insecure.ok).toBe(true)
    expect(insecure.model).toBe('tls-model')
    expect(insecure.request!.outputPreview).toBe('Ready.')
  })

  test('https:// to a plain HTTP server: says to use http://', async () => {
    const url = await serve((_req, res) => json(res, 200, {data: []}))
    const r = await runCheck({endpoint: new URL(`${url.replace('http:', 'https:')}/v1/chat/completions`), api: 'chat', model: 'm', timeoutMs: 5000})
    expect(r.ok).toBe(false)
    expect(text(r)).toMatch(/plain HTTP — use http:\/\//)
  })

  test('a server that ignores stream: true: the request works but TTFT cannot be measured', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, {object: 'list', data: [{id: 'plain'}]})
      json(res, 200, {id: 'c1', object: 'chat.completion', choices: [{index: 0, message: {role: 'assistant', content: 'I am ready.'}, finish_reason: 'stop'}], usage: {prompt_tokens: 14, completion_tokens: 4, prompt_tokens_details: {cached_tokens: 0}}})
    })
    const r = await runCheck({endpoint: new URL(`${url}/v1/chat/completions`), api: 'chat', timeoutMs: 5000})
    expect(r.ok).toBe(true)
    expect(r.request).toMatchObject({streamed: false, outputTokens: 4, outputPreview: 'I am ready.'})
    expect(r.request!.ttftMs).toBeUndefined()
    expect(text(r)).toMatch(/^warn: .*does not stream, so TTFT and ITL cannot be measured/m)
  })

  test('a server that never answers the request: a timeout naming --timeout', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/v1/models') return json(res, 200, {data: [{id: 'slow'}]})
      // never answers the POST
    })
    const r = await runCheck({endpoint: new URL(`${url}/v1/chat/completions`), api: 'chat', timeoutMs: 400})
    expect(r.ok).toBe(false)
    expect(r.request!.error!.category).toBe('timeout')
    expect(text(r)).toMatch(/no complete answer within 0\.4 s \(--timeout\)/)
  })

  test('a 500: the server failed, with its message', async () => {
    const url = await serve((req, res) => (req.url === '/v1/models' ? json(res, 200, {data: [{id: 'm'}]}) : json(res, 500, {error: {message: 'CUDA out of memory'}})))
    const r = await runCheck({endpoint: new URL(`${url}/v1/chat/completions`), api: 'chat', timeoutMs: 5000})
    expect(text(r)).toMatch(/returned HTTP 500: the server failed: CUDA out of memory — see the server's log/)
  })
})
