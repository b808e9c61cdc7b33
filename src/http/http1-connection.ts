/**
 * One HTTP/1.1 keep-alive connection of the measured path, serving one request at a time: the request written
 * in one piece on a net/tls socket, the response parsed by http-parser-js, each socket read stamped in our own
 * read callback before its bytes are parsed (no other listener runs ahead of it).
 *
 * Plain TCP sockets read into one buffer shared by every connection of the thread (net's `onread`), parsed before
 * the next read can land there: no ArrayBuffer and no stream machinery per read. Measured: +8 % non-streaming
 * req/s at c=256 (43.7 → 47.3 k), and at 256 streams the GC's sweep of per-read buffers went from 13 to 1.5 ms per
 * run. TLS sockets cannot read into a caller's buffer and keep the 'data' event.
 *
 * Why not a client library here (measured side by side on one client core against the bench target, 256
 * connections, non-streaming, body read and dropped): undici's dispatch API costs 16.2–16.7 µs of client CPU
 * per request, this 13.1–14.9 µs — when a whole request of the product cost ≈ 25 µs, the largest cut left — and
 * with undici the stamp needed a second 'readable' listener prepended to its own. node:http's
 * ClientRequest/IncomingMessage machinery gives under half undici's requests/s. The parser is a library
 * (http-parser-js, the one autocannon uses; Node's internal llhttp binding measured the same and is not a public
 * API); only the connection's life is ours: connect, one request at a time, keep-alive and its limits.
 */
import net from 'node:net'
import tls from 'node:tls'
import {createRequire} from 'node:module'
import {nowMs} from '../record/clock.js'
import {SOCKET_CLOSED} from './request-errors.js'

// http-parser-js is CommonJS without types; its API is the one Node's own parser binding had.
const {HTTPParser} = createRequire(import.meta.url)('http-parser-js') as {HTTPParser: ParserClass}

interface ParserClass {
  new (kind: number): Parser
  RESPONSE: number
  kOnHeadersComplete: number
  kOnBody: number
  kOnMessageComplete: number
}
interface Parser {
  execute(chunk: Buffer, start: number, length: number): number | Error
  finish(): void | Error
  reinitialize(kind: number): void
  [callback: number]: (...args: any[]) => unknown
}
/** The state of http-parser-js 0.5 that LeanResponseParser's body states read and write (see there). */
interface ParserInternals extends Parser {
  chunk: Buffer
  offset: number
  end: number
  state: string
  /** The part of a line that came in an earlier read ('' when none). */
  line: string
  body_bytes: number
  isUserCall: boolean
  nextRequest(): void
  BODY_CHUNKHEAD(): void
  BODY_CHUNK(): void
  BODY_CHUNKEMPTYLINE(): void
  BODY_SIZED(): void
  BODY_RAW(): void
}

const LF = 10
const CR = 13

/**
 * http-parser-js without its garbage per body piece. Its body states hand each piece on as a new Buffer view
 * (`chunk.slice`) through a new closure (`userCall()`), and read every chunk-size line and the CRLF after each chunk as
 * strings: ≈ 150 bytes per SSE chunk, at 256 streams a third of what the client still allocated once the SSE and
 * JSON layers read bytes in place (each young-generation collection that garbage brings stops the event loop while
 * first tokens wait to be stamped). These overrides hand the piece on as a range of the read (onBody(read, start,
 * length)) and read the common size line (hex digits, CRLF) and chunk end (CRLF) in place; anything else — a line cut
 * across reads, chunk extensions, a bare LF — goes to the library's own code. They use its internal state, so the
 * version is pinned exactly in package.json, and the tests read chunked bodies cut at every byte.
 */
class LeanResponseParser extends (HTTPParser as unknown as new (kind: number) => ParserInternals) {
  override BODY_CHUNKHEAD(): void {
    const chunk = this.chunk
    const end = this.end
    let i = this.offset
    let size = 0
    if (this.line === '') {
      // Up to 8 hex digits (a 4 GB chunk), then CRLF, all in this read.
      for (; i < end && i - this.offset < 8; i++) {
        const digit = hexValue(chunk[i])
        if (digit < 0) break
        size = size * 16 + digit
      }
      if (i > this.offset && i + 1 < end && chunk[i] === CR && chunk[i + 1] === LF) {
        this.offset = i + 2
        this.body_bytes = size
        this.state = size === 0 ? 'BODY_CHUNKTRAILERS' : 'BODY_CHUNK'
        return
      }
    }
    super.BODY_CHUNKHEAD()
  }

  override BODY_CHUNK(): void {
    if (this.sizedPiece()) this.state = 'BODY_CHUNKEMPTYLINE'
  }

  override BODY_CHUNKEMPTYLINE(): void {
    const offset = this.offset
    if (this.line === '' && offset + 1 < this.end && this.chunk[offset] === CR && this.chunk[offset + 1] === LF) {
      this.offset = offset + 2
      this.state = 'BODY_CHUNKHEAD'
      return
    }
    super.BODY_CHUNKEMPTYLINE()
  }

  override BODY_SIZED(): void {
    if (this.sizedPiece()) this.nextRequest()
  }

  override BODY_RAW(): void {
    this.onBodyPiece(this.end - this.offset)
  }

  /**
   * Hands on what this read holds of the `body_bytes` still due (of a chunk, or of a content-length body); true once
   * they are all in.
   */
  private sizedPiece(): boolean {
    const length = Math.min(this.end - this.offset, this.body_bytes)
    this.onBodyPiece(length)
    this.body_bytes -= length
    return this.body_bytes === 0
  }

  /** Hands on the next `length` bytes of the read, as the library does (its user-call flag set around the callback). */
  private onBodyPiece(length: number): void {
    const start = this.offset
    this.isUserCall = true
    this[HTTPParser.kOnBody](this.chunk, start, length)
    this.isUserCall = false
    this.offset = start + length
  }
}

/** The value of a hex digit's byte, or −1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}
interface ParsedHead {
  statusCode: number
  statusMessage: string
  headers: string[]
  shouldKeepAlive: boolean
}

const CONNECT_TIMEOUT_MS = 10_000

/** Where plain TCP sockets read (see the file comment); the size of a socket read libuv asks for. */
const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024)

/** What a parsed head holds once its handler has seen it (see onHead). */
const NO_HEADERS: string[] = Object.freeze([]) as unknown as string[]

/** What a response is told, in order: headers, body pieces, then complete — or an error at any point. */
export interface ResponseHandler {
  /** `rawHeaders` is valid only during the call (the connection lets go of it after): copy what you keep. */
  onHeaders(statusCode: number, rawHeaders: string[], statusText: string): void
  /** A piece of the body, `bytes[start, end)`, valid only during the call (the connection's read buffer is reused): copy what you keep. */
  onData(bytes: Buffer, start: number, end: number): void
  onComplete(): void
  onError(err: NodeJS.ErrnoException): void
}

export interface OutgoingRequest {
  method: 'GET' | 'POST'
  /** Path and query. */
  path: string
  /** [name, value, …], sent as given. */
  headers: string[]
  body?: Buffer
}

export interface ConnectionTarget {
  url: URL
  /** Skip TLS certificate verification. */
  insecure: boolean
  /** A kept-alive socket idle this long is closed rather than reused (or the server's `Keep-Alive: timeout` − 1 s). */
  idleLimitMs: number
}

export class Http1Connection {
  /** When the latest socket read arrived (nowMs clock): taken in the 'data' listener, before the bytes are parsed. */
  readAtMs = 0
  /** Connects started so far; a request that saw this change opened its own connection. */
  connects = 0
  /** How long the latest connect took (TCP, plus the TLS handshake for https); undefined until it completes. */
  connectMs: number | undefined = undefined

  private socket: net.Socket | undefined = undefined
  private handler: ResponseHandler | undefined = undefined
  private readonly parser: Parser
  private keepAlive = false
  /** The message being parsed is a 1xx interim answer, skipped. */
  private interim = false
  private idleSinceMs = 0
  private idleLimitMs: number
  /** The head of the latest request, for the next one with the same method, path and headers. */
  private head = {method: '', path: '', headers: [] as string[], text: ''}
  private readonly port: number
  private readonly secure: boolean

  constructor(private readonly target: ConnectionTarget) {
    this.secure = target.url.protocol === 'https:'
    this.port = Number(target.url.port) || (this.secure ? 443 : 80)
    this.idleLimitMs = target.idleLimitMs
    const parser = (this.parser = new LeanResponseParser(HTTPParser.RESPONSE))
    parser[HTTPParser.kOnHeadersComplete] = (info: ParsedHead) => this.onHead(info)
    parser[HTTPParser.kOnBody] = (read: Buffer, start: number, length: number) => {
      if (!this.interim) this.handler?.onData(read, start, start + length)
    }
    parser[HTTPParser.kOnMessageComplete] = () => this.onMessageComplete()
  }

  /** Sends `request` (on the kept-alive socket, or a new one) and tells `handler` how its response goes. */
  dispatch(request: OutgoingRequest, handler: ResponseHandler): void {
    this.handler = handler
    let socket = this.socket
    if (socket !== undefined && nowMs() - this.idleSinceMs >= this.idleLimitMs) {
      this.drop()
      socket = undefined
    }
    socket ??= this.connect()
    socket.write(this.encode(request))
  }

  /** Closes the socket now; the current response, if any, is told nothing more. */
  abort(): void {
    this.handler = undefined
    this.drop()
  }

  private connect(): net.Socket {
    const {url, insecure} = this.target
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const startedAtMs = nowMs()
    this.connects++
    this.connectMs = undefined
    const socket: net.Socket = this.secure
      ? tls.connect({host, port: this.port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !insecure, ALPNProtocols: ['http/1.1']})
      : net.connect({host, port: this.port, onread: {buffer: SHARED_READ_BUFFER, callback: (length) => this.parse(socket, SHARED_READ_BUFFER, length, nowMs())}})
    socket.setNoDelay(true)
    // As undici's default: a host that never answers the connect fails in seconds, not after the kernel's ~2 min.
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(connectTimeout()))
    socket.once(this.secure ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0)
      if (this.socket === socket) this.connectMs = nowMs() - startedAtMs
    })
    if (this.secure) socket.on('data', (chunk: Buffer) => this.parse(socket, chunk, chunk.length, nowMs()))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket === socket) this.fail(err)
    })
    socket.on('close', () => {
      if (this.socket !== socket) return
      this.socket = undefined
      if (this.handler === undefined) return
      // A response without a length ends when the server closes the connection.
      this.readAtMs = nowMs()
      this.parser.finish()
      if (this.handler !== undefined) this.fail(closedEarly())
    })
    this.parser.reinitialize(HTTPParser.RESPONSE)
    this.socket = socket
    return socket
  }

  /** Parses one socket read (the first `length` bytes of `chunk`) that arrived at `atMs`. */
  private parse(socket: net.Socket, chunk: Buffer, length: number, atMs: number): true {
    // Always true: with `onread`, false would pause the socket.
    if (this.socket !== socket) return true
    this.readAtMs = atMs
    const result = this.parser.execute(chunk, 0, length)
    if (result instanceof Error) this.fail(protocolError(result))
    return true
  }

  private onHead(info: ParsedHead): void {
    const status = info.statusCode
    // 1xx answers (100 Continue, 103 Early Hints) come before the real one: skip them.
    this.interim = status >= 100 && status < 200 && status !== 101
    if (this.interim) return
    this.keepAlive = info.shouldKeepAlive
    const hint = keepAliveTimeoutMs(info.headers)
    this.idleLimitMs = hint === undefined ? this.target.idleLimitMs : Math.min(this.target.idleLimitMs, hint - 1000)
    this.handler?.onHeaders(status, info.headers, info.statusMessage ?? '')
    // The parser keeps its head until the next response: header strings (pieces of the head's lines, which they keep
    // alive) would outlive a stream's start, and every young-generation collection meanwhile would copy them.
    info.headers = NO_HEADERS
  }

  private onMessageComplete(): void {
    if (this.interim) return void (this.interim = false)
    const handler = this.handler
    this.handler = undefined
    if (this.keepAlive) this.idleSinceMs = nowMs()
    else this.drop()
    handler?.onComplete()
  }

  private fail(err: NodeJS.ErrnoException): void {
    const handler = this.handler
    this.handler = undefined
    this.drop()
    handler?.onError(err)
  }

  private drop(): void {
    const socket = this.socket
    if (socket === undefined) return
    this.socket = undefined
    socket.destroy()
  }

  /** The request's bytes in one buffer, so it goes out in one write. */
  private encode(request: OutgoingRequest): Buffer {
    const head = this.head
    if (head.method !== request.method || head.path !== request.path || head.headers !== request.headers) {
      let host = `host: ${this.target.url.host}\r\n`
      let fields = ''
      for (let i = 0; i + 1 < request.headers.length; i += 2) {
        const name = request.headers[i].toLowerCase()
        // A user's Host (a virtual host behind an ingress) replaces ours; the body's length is ours to say.
        if (name === 'host') host = ''
        else if (name === 'content-length' || name === 'transfer-encoding') continue
        fields += `${request.headers[i]}: ${request.headers[i + 1]}\r\n`
      }
      this.head = {method: request.method, path: request.path, headers: request.headers, text: `${request.method} ${request.path} HTTP/1.1\r\n${host}${fields}`}
    }
    const body = request.body
    const text = body === undefined ? `${this.head.text}\r\n` : `${this.head.text}content-length: ${body.length}\r\n\r\n`
    const out = Buffer.allocUnsafe(text.length + (body?.length ?? 0))
    out.write(text, 0, 'latin1')
    if (body !== undefined) body.copy(out, text.length)
    return out
  }
}

/** The server's `Keep-Alive: timeout=N` in ms, if it sent one. */
function keepAliveTimeoutMs(headers: string[]): number | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i].length === 10 && headers[i].toLowerCase() === 'keep-alive') {
      const match = /timeout\s*=\s*(\d+)/i.exec(headers[i + 1])
      if (match) return Number(match[1]) * 1000
    }
  }
  return undefined
}

function connectTimeout(): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS / 1000} s`), {code: 'ETIMEDOUT'})
}

function closedEarly(): NodeJS.ErrnoException {
  return Object.assign(new Error('the server closed the connection before the response completed'), {code: SOCKET_CLOSED})
}

function protocolError(cause: Error): NodeJS.ErrnoException {
  return Object.assign(new Error(`malformed HTTP response (${cause.message})`), {code: 'ERR_HTTP_PARSE'})
}
