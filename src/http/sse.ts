/**
 * Receives each complete SSE event's `data` as bytes — `bytes[start, end)`, UTF-8, valid only during the call (it may
 * be the connection's read buffer, which the next read overwrites) — with its `event:` type when the server named one
 * (undefined otherwise, not "message"). An event typed `error` is a failure the server reports after its HTTP 200.
 */
export type SseDataHandler = (bytes: Buffer, start: number, end: number, event: string | undefined) => void

/** The SSE event type under which a server's in-stream failure is handed on (see createSseParser). */
export const SSE_ERROR_EVENT = 'error'

/** Bytes → SSE events, buffering across arbitrary chunk boundaries. */
export interface SseParser {
  /** Feed the next piece of the body, `chunk[start, end)`; it may be cut anywhere, even inside a UTF-8 character. */
  feed(chunk: Buffer, start?: number, end?: number): void
  /**
   * The body ended. Dispatches a final event that was not followed by a blank line (several servers end
   * with `data: [DONE]\n`), so the caller should treat anything dispatched from here as possibly
   * truncated.
   */
  end(): void
  /** Drops whatever the last body left pending: the next feed starts a new body (see createSseParser). */
  restart(): void
}

const LF = 10
const CR = 13
const SPACE = 32
const COLON = 58
const DATA = Buffer.from('data')
const EVENT = Buffer.from('event')
const ERROR = Buffer.from(SSE_ERROR_EVENT)

/**
 * Pure bytes → events layer, after the WHATWG rules (lines end in CR, LF or CRLF, even when the CR and the LF come in
 * different reads; `:` comments; `data:` lines of one event joined by LF; one space after the colon dropped; a
 * byte order mark before the first line dropped; `id` and `retry` ignored, as nothing here reconnects).
 *
 * Why by hand and not eventsource-parser (which this replaced, and which the tests still use as the reference): it
 * parses text, so every socket read was decoded into a string, split into line strings and handed over as an event
 * object — ≈ 240 bytes of garbage per chunk before the chunk's own JSON, when the whole client allocated ≈ 960 per
 * chunk at 256 streams. Each 1–2 ms young-generation collection that garbage causes stops the event loop, and first
 * tokens arriving meanwhile are stamped late. This parser hands the data over as a range of the bytes it was given;
 * an event's bytes are copied only when it spans reads or has several data lines.
 *
 * llama.cpp (2025 builds) reports a failure after its HTTP 200 as a line of its own, `error: {"code":400,…}`: an
 * unknown SSE field, which the WHATWG rules drop silently, and the stream then ends with a plain `data: [DONE]`. Such a
 * line is passed on at once as an `error`-typed event with the field's value as its data, the same shape as
 * `event: error` + `data: …`.
 *
 * A parser is restarted for the next body rather than made anew: its two buffers live as long as the slot that reads
 * with it (see measured-transport.ts, StreamReader).
 */
export function createSseParser(onData: SseDataHandler): SseParser {
  return new ByteSseParser(onData)
}

class ByteSseParser implements SseParser {
  /** The start of a line whose end has not arrived yet. */
  private line: Buffer = Buffer.allocUnsafeSlow(512)
  private lineLength = 0
  /** The current event's data when it cannot be handed over in place (several data lines, or spanning reads). */
  private data: Buffer = Buffer.allocUnsafeSlow(512)
  private dataLength = 0
  private dataLines = 0
  /** The current event's single data line, still in the bytes being fed (`inPlace` undefined: none). */
  private inPlace: Buffer | undefined = undefined
  private inPlaceStart = 0
  private inPlaceEnd = 0
  private eventType: string | undefined = undefined
  /** The last line ended in CR: an LF at the start of the next read belongs to it. */
  private afterCr = false
  private firstLine = true

  constructor(private readonly onData: SseDataHandler) {}

  restart(): void {
    this.lineLength = this.dataLength = this.dataLines = 0
    this.inPlace = this.eventType = undefined
    this.afterCr = false
    this.firstLine = true
  }

  feed(chunk: Buffer, start = 0, end = chunk.length): void {
    let i = start
    if (this.afterCr && i < end) {
      this.afterCr = false
      if (chunk[i] === LF) i++
    }
    while (i < end) {
      let j = i
      while (j < end && chunk[j] !== LF && chunk[j] !== CR) j++
      if (j === end) {
        this.keepPartialLine(chunk, i, end)
        break
      }
      if (this.lineLength > 0) {
        // The line began in an earlier read: complete it where that part was kept.
        this.keepPartialLine(chunk, i, j)
        const length = this.lineLength
        this.lineLength = 0
        this.onLine(this.line, 0, length)
      } else {
        this.onLine(chunk, i, j)
      }
      if (chunk[j] === CR) {
        if (j + 1 === end) this.afterCr = true
        else if (chunk[j + 1] === LF) j++
      }
      i = j + 1
    }
    // The bytes fed are the caller's only until this returns: keep an event still open in them.
    if (this.inPlace !== undefined) this.copyInPlace()
  }

  end(): void {
    // WHATWG drops an event left pending at the end; LLM servers that omit the final blank line still mean it, so
    // terminate it. A cut mid-line then reaches the caller as a truncated event.
    if (this.lineLength > 0) {
      const length = this.lineLength
      this.lineLength = 0
      this.onLine(this.line, 0, length)
    }
    this.afterCr = false
    this.dispatch()
  }

  /** Appends `chunk[start, end)` to the pending line. */
  private keepPartialLine(chunk: Buffer, start: number, end: number): void {
    const length = this.lineLength + end - start
    if (length > this.line.length) this.line = grown(this.line, this.lineLength, length)
    chunk.copy(this.line, this.lineLength, start, end)
    this.lineLength = length
  }

  /** One complete line, `bytes[start, end)` without its terminator. */
  private onLine(bytes: Buffer, start: number, end: number): void {
    if (this.firstLine) {
      this.firstLine = false
      if (end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) start += 3
    }
    if (start === end) return this.dispatch()
    if (bytes[start] === COLON) return // a comment (`: ping`)
    let colon = start
    while (colon < end && bytes[colon] !== COLON) colon++
    let value = colon
    if (colon < end) value = bytes[colon + 1] === SPACE ? colon + 2 : colon + 1
    if (value > end) value = end
    if (isName(bytes, start, colon, DATA)) this.addData(bytes, value, end)
    else if (isName(bytes, start, colon, EVENT)) this.eventType = value < end ? bytes.toString('utf8', value, end) : undefined
    else if (isName(bytes, start, colon, ERROR)) this.onData(bytes, value, end, SSE_ERROR_EVENT)
  }

  private addData(bytes: Buffer, start: number, end: number): void {
    if (this.dataLines === 0 && bytes !== this.line) {
      this.inPlace = bytes
      this.inPlaceStart = start
      this.inPlaceEnd = end
    } else {
      if (this.inPlace !== undefined) this.copyInPlace()
      if (this.dataLines > 0) this.appendData(NEWLINE, 0, 1)
      this.appendData(bytes, start, end)
    }
    this.dataLines++
  }

  private copyInPlace(): void {
    const bytes = this.inPlace!
    this.inPlace = undefined
    this.dataLength = 0
    this.appendData(bytes, this.inPlaceStart, this.inPlaceEnd)
  }

  private appendData(bytes: Buffer, start: number, end: number): void {
    const length = this.dataLength + end - start
    if (length > this.data.length) this.data = grown(this.data, this.dataLength, length)
    bytes.copy(this.data, this.dataLength, start, end)
    this.dataLength = length
  }

  private dispatch(): void {
    const lines = this.dataLines
    const event = this.eventType
    const length = this.dataLength
    this.dataLines = this.dataLength = 0
    this.eventType = undefined
    if (lines === 0) return
    const bytes = this.inPlace
    if (bytes !== undefined) {
      this.inPlace = undefined
      this.onData(bytes, this.inPlaceStart, this.inPlaceEnd, event)
    } else {
      this.onData(this.data, 0, length, event)
    }
  }
}

const NEWLINE = Buffer.from('\n')

/** Whether `bytes[start, end)` is `name`. */
function isName(bytes: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false
  for (let k = 0; k < name.length; k++) if (bytes[start + k] !== name[k]) return false
  return true
}

/** A buffer of at least `needed` bytes holding the first `used` bytes of `old`. */
function grown(old: Buffer, used: number, needed: number): Buffer {
  const bigger = Buffer.allocUnsafeSlow(Math.max(needed, 2 * old.length))
  old.copy(bigger, 0, 0, used)
  return bigger
}
