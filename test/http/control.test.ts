import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {apiKindOf, baseUrlOf, listModels, modelsUrlOf, resetPrefixCache, resetUrlOf} from '../../src/http/control.js'
import {DualBenchError} from '../../src/errors.js'
import {jsonResponse, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'
import {selfSignedCert} from './tls-cert.js'

const KEY = 'sk-control-SECRET-0987654321'

let server: ScriptedServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function caught(p: Promise<unknown>): Promise<DualBenchError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(DualBenchError)
    return e as DualBenchError
  }
  throw new Error('expected a rejection')
}

async function closedPort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe('endpoint URLs', () => {
  test('baseUrlOf keeps a proxy prefix before /v1/', () => {
    expect(baseUrlOf(new URL('http://h:8000/v1/chat/completions'))).toBe('http://h:8000')
    expect(baseUrlOf(new URL('https://gw.example/llm/v1/completions'))).toBe('https://gw.example/llm')
    expect(baseUrlOf(new URL('http://h:8080/api/chat/completions'))).toBe('http://h:8080/api')
  })
  test('modelsUrlOf', () => {
    expect(modelsUrlOf(new URL('http://h:8000/v1/chat/completions')).toString()).toBe('http://h:8000/v1/models')
    expect(modelsUrlOf(new URL('http://h/llm/v1/completions')).toString()).toBe('http://h/llm/v1/models')
    expect(modelsUrlOf(new URL('http://h/api/chat/completions')).toString()).toBe('http://h/api/models')
  })
  test('apiKindOf from the path; an unknown path is an input error naming --endpoint', () => {
    expect(apiKindOf(new URL('http://h/v1/chat/completions'))).toBe('chat')
    expect(apiKindOf(new URL('http://h/v1/chat/completions/'))).toBe('chat')
    expect(apiKindOf(new URL('http://h/v1/completions'))).toBe('completions')
    let error: unknown
    try {
      apiKindOf(new URL('http://h:8000/v1'))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DualBenchError)
    expect((error as DualBenchError).exit).toBe(2)
    expect((error as DualBenchError).message).toContain('--endpoint')
  })
  test('resetUrlOf', () => {
    const ep = new URL('http://h:30000/v1/chat/completions')
    expect(resetUrlOf('vllm', ep).toString()).toBe('http://h:30000/reset_prefix_cache')
    expect(resetUrlOf('sglang', ep).toString()).toBe('http://h:30000/flush_cache')
    expect(resetUrlOf('http://admin:9/flush', ep).toString()).toBe('http://admin:9/flush')
    expect(() => resetUrlOf('lmcache', ep)).toThrow(/--cache-reset/)
  })
})

describe('listModels', () => {
  test('GETs /v1/models with the key and returns the ids', async () => {
    server = await startScriptedServer(jsonResponse(200, {object: 'list', data: [{id: 'qwen3-8b', object: 'model'}, {id: 'lora-a'}]}))
    const models = await listModels(server.endpoint('/v1/chat/completions'), {apiKey: KEY, timeoutMs: 2000})
    expect(models).toEqual(['qwen3-8b', 'lora-a'])
    expect(server.requests[0].method).toBe('GET')
    expect(server.requests[0].url).toBe('/v1/models')
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${KEY}`)
  })

  test('keeps a path prefix, and reads llama.cpp-style models[]', async () => {
    server = await startScriptedServer(jsonResponse(200, {models: [{name: 'gguf-model', model: 'gguf-model'}]}))
    expect(await listModels(server.endpoint('/proxy/v1/completions'), {timeoutMs: 2000})).toEqual(['gguf-model'])
    expect(server.requests[0].url).toBe('/proxy/v1/models')
    expect(server.requests[0].headers.authorization).toBeUndefined()
  })

  test('connection refused: one clear line naming the address and --endpoint', async () => {
    const port = await closedPort()
    const e = await caught(listModels(new URL(`http://127.0.0.1:${port}/v1/chat/completions`), {apiKey: KEY, timeoutMs: 2000}))
    expect(e.message).toBe(`cannot reach http://127.0.0.1:${port} (connection refused) — is the server running? check --endpoint`)
    expect(e.code).toBe('ENDPOINT_UNREACHABLE')
  })

  test('401 with the key echoed back: the message says check --api-key and never holds the key', async () => {
    server = await startScriptedServer(jsonResponse(401, {error: {message: `invalid api key ${KEY}`}}))
    const e = await caught(listModels(server.endpoint(), {apiKey: KEY, timeoutMs: 2000}))
    expect(e.message).toContain('HTTP 401')
    expect(e.message).toContain('--api-key')
    expect(e.message).not.toContain(KEY)
    expect(e.message).not.toContain('\n')
    expect(e.stack ?? '').not.toContain(KEY)
  })

  test('timeout', async () => {
    server = await startScriptedServer({headersDelayMs: 2000, ...jsonResponse(200, {data: []})})
    const e = await caught(listModels(server.endpoint(), {timeoutMs: 100}))
    expect(e.code).toBe('CONTROL_TIMEOUT')
    expect(e.message).toContain('100 ms')
  })

  test('a non-JSON answer', async () => {
    server = await startScriptedServer({status: 200, headers: {'content-type': 'text/html'}, body: [{raw: '<html>hi</html>'}]})
    const e = await caught(listModels(server.endpoint(), {timeoutMs: 2000}))
    expect(e.message).toContain('did not return JSON')
  })

  test('self-signed TLS: refused without insecure (says so), works with it', async () => {
    server = await startScriptedServer(jsonResponse(200, {data: [{id: 'tls-model'}]}), {tls: selfSignedCert()})
    const e = await caught(listModels(server.endpoint(), {timeoutMs: 2000}))
    expect(e.message).toContain('--insecure')
    expect(await listModels(server.endpoint(), {timeoutMs: 2000, insecure: true, apiKey: KEY})).toEqual(['tls-model'])
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`)
  })
})

describe('resetPrefixCache', () => {
  test('vllm → POST /reset_prefix_cache, sglang → POST /flush_cache at the server root', async () => {
    server = await startScriptedServer({status: 200, body: []})
    await resetPrefixCache('vllm', server.endpoint('/v1/chat/completions'), {apiKey: KEY, timeoutMs: 2000})
    await resetPrefixCache('sglang', server.endpoint('/v1/chat/completions'), {timeoutMs: 2000})
    await resetPrefixCache(new URL('/admin/flush', server.url).toString(), server.endpoint(), {timeoutMs: 2000})
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /reset_prefix_cache', 'POST /flush_cache', 'POST /admin/flush'])
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${KEY}`)
  })

  test('vLLM 404 explains VLLM_SERVER_DEV_MODE', async () => {
    server = await startScriptedServer(jsonResponse(404, {detail: 'Not Found'}))
    const e = await caught(resetPrefixCache('vllm', server.endpoint(), {timeoutMs: 2000}))
    expect(e.message).toContain('HTTP 404')
    expect(e.message).toContain('VLLM_SERVER_DEV_MODE=1')
  })
})
