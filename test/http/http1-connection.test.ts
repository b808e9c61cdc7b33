import net from 'node:net'
import type {AddressInfo} from 'node:net'
import {createMeasuredTransport, type MeasuredTransport} from '../../src/http/measured-transport.js'
import {buildRequestBody} from '../../src/http/request-body.js'
import type {PlannedRequest} from '../../src/http/transport.js'
import {nowMs} from '../../src/record/clock.js'

/**
 * The measured path's own HTTP/1.1 connection (http1-connection.ts) against a raw TCP server that writes exact
 * bytes: the framings and wire cases a conforming server may send that node:http never produces.
 */

const body = (stream: boolean) => buildRequestBody({id: 's1', messages: [{role: 'user', content: 'hello'}]}, {api: 'chat', model: 'm', stream, includeUsage: true})
const planned = (stream: boolean, index = 0): PlannedRequest => ({level: 1, round: 1, index, sampleId: `s${index}`, promptPreview: 'hello', body: body(stream)})

const answer = JSON.stringify({choices: [{message: {content: 'hi there'}, finish_reason: 'stop'}], usage: {prompt_tokens: 3, completion_tokens: 2}})
/** A whole 200 answer with `answer` as its JSON body; `extra` header lines go before the framing ones. */
const okAnswer = (extra = '') => `HTTP/1.1 200 OK\r\n${extra}content-type: application/json\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`
const sse = (...events: string[]) => events.map((e) => `data: ${e}\n\n`).join('')
const delta = (content: string) => JSON.stringify({choices: [{delta: {content}}]})
const usage = JSON.stringify({choices: [], usage: {prompt_tokens: 3, completion_tokens: 2}})

interface RawServer {
  url: URL
  /** Requests received, as [connection number, request head]. */
  requests: [number, string][]
  close(): Promise<void>
}

/** Answers each complete request (head + content-length body) with `reply(socket, n)`, n counting from 1. */
async function rawServer(reply: (socket: net.Socket, n: number) => void): Promise<RawServer> {
  const requests: [number, string][] = []
  const sockets = new Set<net.Socket>()
  let connections = 0
  const server = net.createServer((socket) => {
    const connection = ++connections
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffered.subarray(0, end).toString('latin1')
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
        if (buffered.length < end + 4 + length) return
        buffered = buffered.subarray(end + 4 + length)
        requests.push([connection, head])
        reply(socket, requests.length)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`),
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

let server: RawServer | undefined
let transport: MeasuredTransport | undefined
afterEach(async () => {
  await transport?.close()
  await server?.close()
  transport = server = undefined
})

const open = (target: RawServer, stream: boolean, timeoutMs = 5000) =>
  (transport = createMeasuredTransport({endpoint: target.url, timeoutMs, maxSockets: 1, api: 'chat', stream}))
const send = (stream: boolean, index = 0) => transport!.send(planned(stream, index), {queuedAtMs: nowMs()})

test('the request goes out as HTTP/1.1 with host, headers and an exact content-length', async () => {
  server = await rawServer((socket) => socket.write(okAnswer()))
  open(server, false)
  const record = await send(false)

  expect(record).toMatchObject({ok: true, outputTokens: 2, inputTokens: 3})
  const head = server.requests[0][1]
  expect(head.split('\r\n')[0]).toBe('POST /v1/chat/completions HTTP/1.1')
  expect(head).toContain(`host: ${server.url.host}`)
  expect(head).toContain('content-type: application/json')
  expect(head).toContain(`content-length: ${body(false).length}`)
})

test("a user's Host header replaces ours, and a user's Content-Length never goes out beside the real one", async () => {
  server = await rawServer((socket) => socket.write(okAnswer()))
  transport = createMeasuredTransport({endpoint: server.url, timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: false, headers: {Host: 'llm.internal', 'Content-Length': '5'}})
  const record = await send(false)

  expect(record.ok).toBe(true)
  const head = server.requests[0][1]
  expect(head.match(/^host:.*$/gim)).toEqual(['Host: llm.internal'])
  expect(head.match(/^content-length:.*$/gim)).toEqual([`content-length: ${body(false).length}`])
})

test('a chunked stream split at every byte boundary is read whole, and the connection is kept', async () => {
  const payload = sse(delta('Hel'), delta('lo'), usage, '[DONE]')
  const chunked = `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`
  server = await rawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n')
    // One byte per write, spread over loop turns: framing, SSE lines and JSON all arrive cut.
    const bytes = Buffer.from(chunked)
    let i = 0
    const next = () => {
      if (i < bytes.length) socket.write(bytes.subarray(i, ++i), () => setImmediate(next))
    }
    next()
  })
  open(server, true)
  const first = await send(true, 0)
  const second = await send(true, 1)

  expect(first).toMatchObject({ok: true, contentChunks: 2, outputTokens: 2, outputPreview: 'Hello'})
  expect(second).toMatchObject({ok: true, reusedConnection: true})
  expect(server.requests.map(([c]) => c)).toEqual([1, 1])
})

test('chunked framings read in place or by the library: one chunk per event, upper-case hex, leading zeros, extensions, bare LF', async () => {
  const events = [delta('A'), delta('B'), delta('C'), delta('D'), usage, '[DONE]'].map((e) => Buffer.from(`data: ${e}\n\n`))
  const heads = (n: number) => [n.toString(16), n.toString(16).toUpperCase(), `000${n.toString(16)}`, `${n.toString(16)};ext=1`, `${n.toString(16)} `, n.toString(16)]
  const lineEnds = ['\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\n']
  const framed = Buffer.concat([
    ...events.flatMap((e, k) => [Buffer.from(`${heads(e.length)[k]}${lineEnds[k]}`), e, Buffer.from(lineEnds[k]!)]),
    Buffer.from('0\r\n\r\n'),
  ])
  for (const piece of [framed.length, 7, 1]) {
    server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n')
      let at = 0
      const next = () => {
        if (at < framed.length) socket.write(framed.subarray(at, (at += piece)), () => setImmediate(next))
      }
      next()
    })
    open(server, true)
    const first = await send(true, 0)
    const second = await send(true, 1)

    expect({piece, first}).toMatchObject({piece, first: {ok: true, contentChunks: 4, outputTokens: 2, outputPreview: 'ABCD'}})
    expect({piece, second}).toMatchObject({piece, second: {ok: true, contentChunks: 4, reusedConnection: true}})
    await transport!.close()
    await server.close()
    transport = server = undefined
  }
})

test('a JSON body that comes in several reads, each landing where the previous one was read, is read whole', async () => {
  server = await rawServer((socket) => {
    const bytes = Buffer.from(okAnswer())
    // Three writes, 5 ms apart: three socket reads, each into the read buffer the one before used.
    const cuts = [0, bytes.length - answer.length + 10, bytes.length - 20, bytes.length]
    cuts.slice(1).forEach((end, i) => setTimeout(() => socket.write(bytes.subarray(cuts[i], end)), 5 * i))
  })
  open(server, false)
  const record = await send(false)

  expect(record).toMatchObject({ok: true, outputTokens: 2, inputTokens: 3, outputPreview: 'hi there'})
})

test('a UTF-8 character cut between two reads of a stream comes out whole', async () => {
  const payload = Buffer.from(sse(delta('漢字🎉'), usage, '[DONE]'))
  const cut = payload.indexOf(Buffer.from('🎉')) + 2 // inside the 4-byte emoji
  server = await rawServer((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${payload.length}\r\n\r\n`)
    socket.write(payload.subarray(0, cut))
    // A second read, into the buffer the first one was read into.
    setTimeout(() => socket.write(payload.subarray(cut)), 5)
  })
  open(server, true)
  const record = await send(true)

  expect(record).toMatchObject({ok: true, contentChunks: 1, outputPreview: '漢字🎉'})
})

test('a body without a length ends when the server closes; the next request opens a new connection', async () => {
  server = await rawServer((socket) => socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n${sse(delta('a'), delta('b'), '[DONE]')}`))
  open(server, true)
  const first = await send(true, 0)
  const second = await send(true, 1)

  expect(first).toMatchObject({ok: true, contentChunks: 2})
  expect(second).toMatchObject({ok: true, reusedConnection: false})
  expect(server.requests.map(([c]) => c)).toEqual([1, 2])
})

/** Two requests in a row against answers with `extra` header lines: the second must go out on a connection of its own. */
async function expectSecondOnNewConnection(extra: string): Promise<void> {
  server = await rawServer((socket) => socket.write(okAnswer(extra)))
  open(server, false)
  await send(false, 0)
  const second = await send(false, 1)

  expect(second).toMatchObject({ok: true, reusedConnection: false})
  expect(server.requests.map(([c]) => c)).toEqual([1, 2])
}

test('Connection: close is honoured: the next request does not reuse the socket', async () => {
  await expectSecondOnNewConnection('connection: close\r\n')
})

test('1xx interim answers (100 Continue, 103 Early Hints) are skipped; the headers stamp is the real answer', async () => {
  server = await rawServer((socket) => {
    socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n')
    setTimeout(() => socket.write(okAnswer()), 60)
  })
  open(server, false)
  const record = await send(false)

  expect(record).toMatchObject({ok: true, outputTokens: 2})
  expect(record.headersAtMs! - record.sentAtMs).toBeGreaterThanOrEqual(50)
})

test('a server Keep-Alive timeout shorter than ours: an idle socket past it is not reused', async () => {
  // timeout=1 s, less the 1 s margin: the socket counts as idle-expired at once.
  await expectSecondOnNewConnection('keep-alive: timeout=1\r\n')
})

test('a server that closes an idle socket: the next request opens a new one without an error', async () => {
  server = await rawServer((socket) => {
    socket.write(okAnswer())
    setTimeout(() => socket.end(), 10)
  })
  open(server, false)
  await send(false, 0)
  await new Promise((resolve) => setTimeout(resolve, 60))
  const second = await send(false, 1)

  expect(second).toMatchObject({ok: true, reusedConnection: false})
})

test('a response that is not HTTP becomes a clear error record, and the slot works again', async () => {
  server = await rawServer((socket, n) => socket.write(n === 1 ? 'SSH-2.0-OpenSSH_9.6\r\n\r\n' : okAnswer()))
  open(server, false)
  const bad = await send(false, 0)
  const good = await send(false, 1)

  expect(bad.ok).toBe(false)
  expect(bad.error?.message).toMatch(/malformed HTTP response/)
  expect(good).toMatchObject({ok: true, reusedConnection: false})
})

test('a connection dropped mid-body is a stream_cut record, not a hang', async () => {
  server = await rawServer((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${answer.length}\r\n\r\n${answer.slice(0, 10)}`)
    setTimeout(() => socket.destroy(), 20)
  })
  open(server, false)
  const record = await send(false)

  expect(record.ok).toBe(false)
  expect(record.error?.category).toBe('stream_cut')
  expect(record.error?.message).toMatch(/closed the connection before the response completed/)
})

test('a refused connect is a connection error record', async () => {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  transport = createMeasuredTransport({endpoint: new URL(`http://127.0.0.1:${port}/v1/chat/completions`), timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: false})
  const record = await send(false)

  expect(record.ok).toBe(false)
  expect(record.error).toMatchObject({category: 'connection'})
  expect(record.error?.message).toMatch(/ECONNREFUSED/)
})
