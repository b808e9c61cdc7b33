/**
 * --retries and a server's Retry-After: the runner waits as long as a rate-limited (429) or overloaded (503) server
 * asks, not its own 200 ms backoff, and a stop (Ctrl-C) ends that wait at once. Against a real loopback server.
 */
import {httpError, parseRetryAfter} from '../../src/http/request-errors.js'
import {createMeasuredTransport} from '../../src/http/measured-transport.js'
import type {RequestRecord} from '../../src/record/record.js'
import {buildPlan} from '../../src/runner/plan.js'
import {RETRY_AFTER_CAP_MS, retryDelayMs, runPlan} from '../../src/runner/runner.js'
import {jsonResponse, openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'

describe('Retry-After', () => {
  test('parsed as seconds or an HTTP date; anything else is ignored', () => {
    const now = Date.parse('2026-11-24T10:00:00Z')
    expect(parseRetryAfter('5', now)).toBe(5000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Tue, 24 Nov 2026 09:00:00 GMT', now)).toBe(0)
    for (const bad of ['', '-1', '1.5', 'soon']) expect(parseRetryAfter(bad, now)).toBeUndefined()
    const endpoint = new URL('http://127.0.0.1/v1/chat/completions')
    expect(httpError(429, 'Too Many Requests', '{"error":{"message":"slow down"}}', {endpoint, retryAfter: '2'}, now)).toEqual({
      category: 'http_4xx',
      message: 'slow down',
      httpStatus: 429,
      retryAfterMs: 2000,
    })
  })

  test('the wait is the backoff, or the server’s Retry-After when longer, capped', () => {
    const failed = (retryAfterMs?: number) => ({ok: false, error: {category: 'http_4xx', message: '', httpStatus: 429, retryAfterMs}}) as RequestRecord
    expect(retryDelayMs(failed(), 1, 200)).toBe(200)
    expect(retryDelayMs(failed(), 3, 200)).toBe(800)
    expect(retryDelayMs(failed(1500), 1, 200)).toBe(1500)
    expect(retryDelayMs(failed(100), 2, 200)).toBe(400)
    expect(retryDelayMs(failed(3_600_000), 1, 200)).toBe(RETRY_AFTER_CAP_MS)
  })

  describe('end to end', () => {
    let server: ScriptedServer
    afterEach(() => server.close())

    /** One request with --retries 1 against `server`; resolves to its record. */
    async function runOne(stop?: AbortSignal): Promise<RequestRecord> {
      const records: RequestRecord[] = []
      const plan = buildPlan([{id: 's', messages: [{role: 'user', content: 'hi'}]}], [1], {api: 'chat', model: 'm', stream: true, includeUsage: true}, {rounds: 1, salts: [undefined]})
      await runPlan(plan, {
        createTransport: (maxSockets) => createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 10_000, maxSockets, api: 'chat', stream: true}),
        onRecord: (r) => records.push(r),
        onRound: () => {},
        retries: 1,
        stop,
      })
      return records[0]!
    }

    test('a 429 with Retry-After: 1 is retried after a second, not after the 200 ms backoff', async () => {
      server = await startScriptedServer((_req, n) => (n === 1 ? jsonResponse(429, {error: {message: 'rate limited'}}, {'retry-after': '1'}) : {body: openAiStream({tokens: 3})}))
      const record = await runOne()
      expect(record.ok).toBe(true)
      expect(record.retries).toBe(1)
      const [first, second] = server.requests
      expect(second!.receivedAtMs - first!.receivedAtMs).toBeGreaterThanOrEqual(950)
    })

    test('a stop during a long Retry-After ends the wait: the 503 is the record, and no retry is sent', async () => {
      server = await startScriptedServer(jsonResponse(503, {error: {message: 'overloaded'}}, {'retry-after': '30'}))
      const stop = new AbortController()
      const started = Date.now()
      const done = runOne(stop.signal)
      // Once the first answer is in, the runner is waiting out the Retry-After.
      while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
      await new Promise((resolve) => setTimeout(resolve, 100))
      stop.abort()
      const record = await done
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(record.ok).toBe(false)
      expect(record.error).toMatchObject({httpStatus: 503, retryAfterMs: 30_000})
      expect(record.retries).toBeUndefined()
      expect(server.requests).toHaveLength(1)
    })
  })
})
