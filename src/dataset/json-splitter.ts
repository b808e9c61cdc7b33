/**
 * Incremental splitter for a top-level JSON array (`[{…}, {…}]`) or an object holding one
 * (`{"data": [{…}, {…}]}`): it yields the raw text of each element with the line it starts on, so a
 * multi-gigabyte file can be read a chunk at a time and each element parsed with `JSON.parse` alone.
 *
 * Why hand-written: no streaming JSON tokenizer is installed (the ones on npm, e.g. stream-json, would be
 * a new dependency), and we only need element boundaries plus line numbers — bracket depth and string
 * state are enough for that. Syntax *inside* an element is left to `JSON.parse`, whose error position
 * the caller maps back to a line (see `lineOfParseError`).
 */

/** One element's source text and the 1-based line its first character is on. */
export interface SplitElement {
  text: string
  line: number
}

/** A structural problem (not inside an element): the file is not an array / `{"data": […]}`. */
export class SplitError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
    this.name = 'SplitError'
  }
}

type Phase = 'start' | 'body' | 'after'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const NEWLINE = 0x0a

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff
}

/**
 * Feed decoded text with `feed()`; call `end()` at end of input. Both return the elements completed so far.
 * `shape` tells which top-level form was seen; `foundDataArray` whether an object had a `data` array;
 * `trailingLine` is set when non-space text follows the top-level value (e.g. JSONL saved as `.json`).
 */
export class JsonElementSplitter {
  shape: 'array' | 'object' | undefined
  foundDataArray = false
  trailingLine: number | undefined

  private phase: Phase = 'start'
  private line = 1
  private depth = 0
  private inString = false
  private escaped = false
  /** Depth of the container whose direct children are elements (1 for an array, 2 for `{"data": […]}`). */
  private elementDepth = -1
  // Element being collected.
  private pieces: string[] = []
  private collecting = false
  private elementLine = 0
  private sawComma = false
  // Object mode: the last key string at depth 1, and whether we are between ':' and the value.
  private keyChars: string[] | undefined
  private lastKey: string | undefined
  private expectValue = false

  feed(chunk: string): SplitElement[] {
    const out: SplitElement[] = []
    let pieceStart = this.collecting ? 0 : -1
    const n = chunk.length
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i)
      if (c === NEWLINE) this.line++
      if (this.inString) {
        if (this.keyChars) this.keyChars.push(chunk[i]!)
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) {
          this.inString = false
          if (this.keyChars) {
            this.keyChars.pop()
            this.lastKey = this.keyChars.join('')
            this.keyChars = undefined
          }
        }
        continue
      }
      if (this.phase === 'start') {
        if (isSpace(c)) continue
        if (c === 0x5b /* [ */) {
          this.shape = 'array'
          this.elementDepth = 1
        } else if (c === 0x7b /* { */) {
          this.shape = 'object'
        } else {
          throw new SplitError(`expected a JSON array "[" or an object "{" but found ${JSON.stringify(chunk[i])}`, this.line)
        }
        this.depth = 1
        this.phase = 'body'
        continue
      }
      if (this.phase === 'after') {
        if (!isSpace(c) && this.trailingLine === undefined) this.trailingLine = this.line
        continue
      }
      // phase 'body'
      const atElementLevel = this.depth === this.elementDepth
      if (atElementLevel && !this.collecting) {
        if (isSpace(c)) continue
        if (c === 0x2c /* , */) {
          // A comma that ends an element is consumed with it, so one seen here has no element before it.
          throw new SplitError('unexpected "," — an element is missing (two commas in a row, or a comma right after "[")', this.line)
        }
        if (c === 0x5d /* ] */) {
          if (this.sawComma) throw new SplitError('trailing comma before "]" — remove it (JSON does not allow trailing commas)', this.line)
          this.closeContainer()
          continue
        }
        this.sawComma = false
        this.collecting = true
        this.elementLine = this.line
        pieceStart = i
      }
      if (c === QUOTE) {
        this.inString = true
        // In object mode, a string opened at depth 1 where a key is expected is a key.
        if (this.shape === 'object' && this.depth === 1 && !this.expectValue) this.keyChars = []
        continue
      }
      if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
        if (this.shape === 'object' && this.depth === 1 && this.expectValue && c === 0x5b && this.lastKey === 'data' && !this.foundDataArray) {
          this.elementDepth = 2
          this.foundDataArray = true
        }
        this.depth++
        if (this.depth === 2 && this.shape === 'object') this.expectValue = false
        continue
      }
      if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
        if (this.collecting && this.depth === this.elementDepth) {
          // The container closes right after an element with no comma: emit it, then close.
          out.push(this.takeElement(chunk, pieceStart, i))
          pieceStart = -1
          this.closeContainer()
          continue
        }
        this.depth--
        if (this.depth === 0) this.phase = 'after'
        continue
      }
      if (c === 0x2c /* , */) {
        if (this.collecting && this.depth === this.elementDepth) {
          out.push(this.takeElement(chunk, pieceStart, i))
          pieceStart = -1
          this.sawComma = true
          continue
        }
        if (this.shape === 'object' && this.depth === 1) this.expectValue = false
        continue
      }
      if (c === 0x3a /* : */ && this.shape === 'object' && this.depth === 1) {
        this.expectValue = true
        continue
      }
      if (this.shape === 'object' && this.depth === 1 && this.expectValue && !isSpace(c)) {
        // A scalar value at depth 1 (number, true, null…): nothing to track.
        continue
      }
    }
    if (this.collecting && pieceStart >= 0) this.pieces.push(chunk.slice(pieceStart))
    return out
  }

  /** Signals end of input; throws SplitError if the top-level value never closed. */
  end(): SplitElement[] {
    if (this.phase === 'start') throw new SplitError('the file is empty (no JSON value found)', this.line)
    if (this.phase === 'body') {
      throw new SplitError(this.inString ? 'unterminated string at end of file' : 'unexpected end of file — a "]" or "}" is missing', this.line)
    }
    return []
  }

  private takeElement(chunk: string, pieceStart: number, endExclusive: number): SplitElement {
    if (pieceStart >= 0) this.pieces.push(chunk.slice(pieceStart, endExclusive))
    const text = this.pieces.join('').trimEnd()
    this.pieces = []
    this.collecting = false
    return {text, line: this.elementLine}
  }

  /** The element container (array) closed. */
  private closeContainer(): void {
    this.depth--
    this.sawComma = false
    this.elementLine = 0
    this.elementDepth = -1
    if (this.depth === 0) this.phase = 'after'
    else this.expectValue = false
  }
}

/**
 * Maps a `JSON.parse` error on `text` (which starts on `startLine`) to the line of the offending
 * character. V8 reports "at position N" for most errors; "Unexpected end of JSON input" has no position,
 * so it is placed on the element's last line.
 */
export function lineOfParseError(err: unknown, text: string, startLine: number): number {
  const msg = err instanceof Error ? err.message : String(err)
  const m = /position (\d+)/.exec(msg)
  const pos = m ? Math.min(Number(m[1]), text.length) : text.length
  let line = startLine
  for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === NEWLINE) line++
  return line
}

/** A short, stable description of a `JSON.parse` failure (V8's message minus the echoed input). */
export function describeParseError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  // Node 20 appends `, "…input…" is not valid JSON`; the input is already identified by file:line.
  return msg.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '')
}
