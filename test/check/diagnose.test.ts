import {diagnose, problemOfControlError, problemOfRecord, type CheckFacts} from '../../src/check/diagnose.js'
import {apiOfPath, resolveEndpoint} from '../../src/http/endpoint.js'
import {DualBenchError} from '../../src/errors.js'
import type {RequestRecord} from '../../src/record/record.js'

const endpoint = new URL('http://10.0.0.5:8000/v1/chat/completions')
const okRecord: RequestRecord = {
  level: 1, round: 1, index: 0, sampleId: 'check', promptPreview: 'x', queuedAtMs: 0, sentAtMs: 1000, firstTokenAtMs: 1050, lastTokenAtMs: 1090, endedAtMs: 1100,
  chunkOffsetsMs: [50, 70, 90], contentChunks: 3, outputTokens: 3, outputTokensSource: 'usage', inputTokens: 20, cachedTokens: 0, ok: true, outputPreview: 'Yes.',
}
const failed = (error: RequestRecord['error']): RequestRecord => ({...okRecord, ok: false, error, chunkOffsetsMs: undefined, contentChunks: undefined, firstTokenAtMs: undefined})
const facts = (over: Partial<CheckFacts> = {}): CheckFacts => ({
  endpoint, api: 'chat', modelsUrl: new URL('http://10.0.0.5:8000/v1/models'), apiKeySent: true, insecure: false, timeoutMs: 30_000,
  models: {ok: true, ids: ['llama-3-8b', 'qwen2-7b']}, model: 'llama-3-8b', modelSource: 'server', record: okRecord, ...over,
})
const texts = (f: CheckFacts) => diagnose(f).map((l) => `${l.level}: ${l.text}`)

describe('diagnose', () => {
  test('a working streamed request ends with one ok line and no warnings', () => {
    expect(texts(facts())).toEqual(['ok: the endpoint works: streamed a reply from model "llama-3-8b"'])
  })

  test('401/403: the key was rejected; says where keys come from, and when none was sent', () => {
    const lines = texts(facts({record: failed({category: 'http_4xx', httpStatus: 401, message: 'Incorrect API key provided'}), apiKeySent: false}))
    expect(lines[0]).toMatch(/^error: POST \/v1\/chat\/completions returned HTTP 401 \(Incorrect API key provided\): the server rejected the API key — check --api-key \/ OPENAI_API_KEY \/ \.env MODEL_KEY$/)
    expect(lines[1]).toMatch(/no API key was sent/)
    expect(texts(facts({record: failed({category: 'http_4xx', httpStatus: 403, message: 'forbidden'})})).join('\n')).not.toMatch(/no API key was sent/)
  })

  test('404 for a model lists the models the server has', () => {
    const lines = texts(facts({model: 'gpt-4', modelSource: 'flag', record: failed({category: 'http_4xx', httpStatus: 404, message: 'The model `gpt-4` does not exist.'})}))
    expect(lines).toEqual([
      'error: POST /v1/chat/completions returned HTTP 404: the server has no model "gpt-4": The model `gpt-4` does not exist.',
      'error: the server has: llama-3-8b, qwen2-7b — pass --model llama-3-8b',
    ])
  })

  test('404 for a path says the path is wrong and what to try', () => {
    const lines = texts(facts({record: failed({category: 'http_4xx', httpStatus: 404, message: 'HTTP 404 Not Found'})}))
    expect(lines[0]).toBe('error: POST /v1/chat/completions returned HTTP 404: wrong path — this server does not serve /v1/chat/completions')
    expect(lines[1]).toContain('try --endpoint http://10.0.0.5:8000/v1/chat/completions')
    expect(lines[2]).toContain('llama-3-8b, qwen2-7b')
  })

  test('connection refused, DNS, TLS and plain-HTTP failures from the transport', () => {
    const conn = (message: string) => texts(facts({record: failed({category: 'connection', message})}))[0]
    expect(conn('connect ECONNREFUSED 10.0.0.5:8000')).toBe('error: nothing listens on 10.0.0.5:8000 (connection refused) — is the server running, and are the host and port in --endpoint right?')
    expect(conn('getaddrinfo ENOTFOUND llm.internal')).toMatch(/host name "10\.0\.0\.5" could not be resolved \(ENOTFOUND\)/)
    const tls = texts(facts({record: failed({category: 'connection', message: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate'})}))
    expect(tls[0]).toMatch(/TLS certificate of 10\.0\.0\.5:8000 was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/)
    expect(tls[1]).toMatch(/pass --insecure \(only for such servers\)/)
    expect(conn('EPROTO: write EPROTO 0A00010B:SSL routines:ssl3_get_record:wrong version number')).toMatch(/speaks plain HTTP — use http:\/\//)
  })

  test('the same connection failure on the model list is explained once, and the request is said not to be sent', () => {
    const problem = problemOfControlError(new DualBenchError('ENDPOINT_UNREACHABLE', 'cannot reach http://10.0.0.5:8000 (connection refused) — is the server running? check --endpoint'))
    expect(problem).toMatchObject({kind: 'refused'})
    const lines = texts(facts({models: {ok: false, problem}, model: undefined, modelSource: undefined, record: undefined}))
    expect(lines).toEqual([
      'error: nothing listens on 10.0.0.5:8000 (connection refused) — is the server running, and are the host and port in --endpoint right?',
      'error: the test request was not sent: 10.0.0.5:8000 is not reachable',
    ])
  })

  test('control-plane errors are classified by code and status', () => {
    expect(problemOfControlError(new DualBenchError('CONTROL_HTTP_ERROR', 'GET http://h/v1/models returned HTTP 401: bad key — check --api-key / OPENAI_API_KEY'))).toEqual({kind: 'auth', status: 401, detail: 'bad key'})
    expect(problemOfControlError(new DualBenchError('CONTROL_HTTP_ERROR', 'GET http://h/v1/models returned HTTP 404 — hint'))).toMatchObject({kind: 'not_found', status: 404})
    expect(problemOfControlError(new DualBenchError('CONTROL_TIMEOUT', 'did not answer'))).toMatchObject({kind: 'timeout'})
    expect(problemOfControlError(new DualBenchError('ENDPOINT_UNREACHABLE', 'TLS with https://h failed (SELF_SIGNED_CERT_IN_CHAIN) — for a self-signed certificate pass --insecure'))).toMatchObject({kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN'})
    expect(problemOfControlError(new DualBenchError('ENDPOINT_UNREACHABLE', 'cannot reach http://h (host not found) — check the host name in --endpoint'))).toMatchObject({kind: 'dns'})
    expect(problemOfControlError(new Error('boom'))).toMatchObject({kind: 'other'})
  })

  test('timeouts name --timeout in seconds', () => {
    const lines = texts(facts({timeoutMs: 5000, record: failed({category: 'timeout', message: 'no complete response within 5000 ms (--timeout)'})}))
    expect(lines[0]).toMatch(/no complete answer within 5 s \(--timeout\)/)
  })

  test('a server that answers stream:true with a JSON body: request ok, warned that TTFT cannot be measured', () => {
    const lines = texts(facts({record: {...okRecord, chunkOffsetsMs: undefined, firstTokenAtMs: undefined, contentChunks: undefined}}))
    expect(lines[0]).toMatch(/^warn: .*does not stream, so TTFT and ITL cannot be measured/)
    expect(lines.at(-1)).toBe('ok: the endpoint works: answered from model "llama-3-8b"')
  })

  test('warnings for missing usage, missing cached tokens, stream_options rejection and an unlisted model', () => {
    expect(texts(facts({record: {...okRecord, outputTokensSource: 'chunks', cachedTokens: undefined}})).join('\n')).toMatch(/no token usage/)
    expect(texts(facts({record: {...okRecord, cachedTokens: undefined}})).join('\n')).toMatch(/no cached-token count/)
    expect(texts(facts({streamOptionsRejected: true})).join('\n')).toMatch(/rejects stream_options/)
    expect(texts(facts({model: 'alias', modelSource: 'flag'}))[0]).toMatch(/^warn: model "alias" is not in the server's list/)
  })

  test('a stream with no text suggests --api', () => {
    const lines = texts(facts({api: 'chat', record: {...failed({category: 'stream_cut', message: 'stream ended before [DONE] and without a finish_reason'}), contentChunks: 0}}))
    expect(lines.join('\n')).toMatch(/pass --api chat\|completions\|responses/)
  })

  test('no model anywhere: says to pass --model', () => {
    expect(texts(facts({models: {ok: true, ids: []}, model: undefined, modelSource: undefined, record: undefined})).at(-1)).toMatch(/^error: no model to ask: the server listed none — pass --model NAME/)
  })

  test('problemOfRecord: undefined for ok, kinds for each category', () => {
    expect(problemOfRecord(okRecord)).toBeUndefined()
    expect(problemOfRecord(failed({category: 'http_5xx', httpStatus: 503, message: 'overloaded'}))).toEqual({kind: 'server_error', status: 503, detail: 'overloaded'})
    expect(problemOfRecord(failed({category: 'http_4xx', httpStatus: 422, message: 'bad'}))?.kind).toBe('bad_request')
    expect(problemOfRecord(failed({category: 'server_error_event', message: 'x'}))?.kind).toBe('error_event')
  })
})

describe('check endpoint resolution', () => {
  test('full API URLs keep their path and name their API', () => {
    expect(resolveEndpoint('http://h:8000/v1/chat/completions')).toMatchObject({api: 'chat', completed: false})
    expect(resolveEndpoint('http://h:8000/v1/completions').api).toBe('completions')
    expect(resolveEndpoint('http://h:8000/v1/responses').api).toBe('responses')
    expect(apiOfPath(new URL('http://h/llm/v1/responses/'))).toBe('responses')
  })

  test('a base URL is completed with the API path (chat unless --api says otherwise)', () => {
    expect(resolveEndpoint('http://h:8000/v1').endpoint.href).toBe('http://h:8000/v1/chat/completions')
    expect(resolveEndpoint('http://h:8000').endpoint.href).toBe('http://h:8000/v1/chat/completions')
    const r = resolveEndpoint('https://h/proxy/v1/', 'responses')
    expect(r).toMatchObject({api: 'responses', completed: true})
    expect(r.endpoint.href).toBe('https://h/proxy/v1/responses')
  })

  test('bad URLs and unknown paths without --api are input errors (exit 2)', () => {
    for (const bad of ['not a url', 'ftp://h/v1', 'http://h/generate']) {
      let error: unknown
      try {
        resolveEndpoint(bad)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(DualBenchError)
      expect((error as DualBenchError).exit).toBe(2)
    }
    expect(resolveEndpoint('http://h/generate', 'completions').endpoint.pathname).toBe('/generate')
  })
})
