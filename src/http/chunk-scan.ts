/**
 * Pure: reads the common chat/completions stream chunk in place, in its bytes, without JSON.parse.
 *
 * Why: JSON.parse needs the chunk as a string and builds its whole object tree; at 256 streams that was ≈ 480 bytes of
 * garbage per chunk, half of what the client allocated, for the one thing most chunks carry: a few characters of
 * generated text. The garbage sets how often the young generation is collected, and each collection stops the event
 * loop for 1–2 ms while first tokens wait to be stamped. No JSON library reads a Buffer in place without building
 * values, so this is by hand, and deliberately narrow: it accepts only a chunk whose meaning it can tell exactly —
 * one choice, text in `delta.content` / `reasoning_content` / `reasoning` or `text`, no finish_reason, and `null` for
 * usage, timings, meta_info, error, refusal and tool calls — and validates the JSON grammar of everything it reads.
 * Anything else (the first and last chunks, usage, errors, tool calls, `[DONE]`, malformed data) is SCAN_FALLBACK:
 * the caller parses it the general way (openai-stream.ts). The tests check it against that general path.
 */

/** Where ChunkScanner.addText puts text: plain UTF-8 as bytes, escaped strings decoded. */
export interface TextSink {
  add(text: string): void
  addUtf8(bytes: Buffer, start: number, end: number): void
}

/** Not a chunk this scanner reads: parse it the general way. */
export const SCAN_FALLBACK = -1
/** A valid chunk with no generated text (a role chunk, an empty delta). */
export const SCAN_NONE = 0
/** A valid chunk with generated text: see ChunkScanner.text. */
export const SCAN_CONTENT = 1

const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON_BYTE = 58
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93

/** What ChunkScanner.member found. */
const MEMBER = 0
const END = 1
const BAD = 2

/** Fields whose text the scan keeps, as offsets into ChunkScanner's span table (start, end, escaped). */
const REASONING_CONTENT = 0
const REASONING = 3
const CONTENT = 6
const TEXT = 9

/** The keys the scan tells apart (others are skipped, when their value is a string, number, true, false or null). */
const enum Key {
  Other,
  Choices,
  MustBeNull,
  Object,
  Delta,
  Text,
  FinishReason,
  Content,
  ReasoningContent,
  Reasoning,
  Refusal,
}
const TOP_KEYS = keyTable({
  choices: Key.Choices,
  object: Key.Object,
  error: Key.MustBeNull,
  usage: Key.MustBeNull,
  timings: Key.MustBeNull,
  meta_info: Key.MustBeNull,
})
const CHOICE_KEYS = keyTable({delta: Key.Delta, text: Key.Text, finish_reason: Key.FinishReason})
const DELTA_KEYS = keyTable({
  content: Key.Content,
  reasoning_content: Key.ReasoningContent,
  reasoning: Key.Reasoning,
  refusal: Key.Refusal,
  tool_calls: Key.MustBeNull,
  function_call: Key.MustBeNull,
})
const ERROR_BYTES = Buffer.from('error')
const EMPTY = Buffer.alloc(0)

/**
 * One scanner per thread is enough: a scan runs to its end synchronously, and keeps nothing of the bytes after
 * `text` has been read.
 */
export class ChunkScanner {
  private b: Buffer = EMPTY
  private i = 0
  private end = 0
  private keyStart = 0
  private keyEnd = 0
  /** Start, end and escaped (1/0) of each kept field's string, start −1 when absent, null or not a string. */
  private readonly spans = new Int32Array(12)
  /** The last string scanned: [start, end) between its quotes, and whether it had an escape. */
  private strStart = 0
  private strEnd = 0
  private strEscaped = false

  /** SCAN_CONTENT, SCAN_NONE or SCAN_FALLBACK for the JSON in `bytes[start, end)`. */
  scan(bytes: Buffer, start: number, end: number): number {
    this.b = bytes
    this.i = start
    this.end = end
    this.spans.fill(-1)
    this.ws()
    const ok = this.topObject() && (this.ws(), this.i === end)
    if (!ok) return SCAN_FALLBACK
    return this.reasoningField() >= 0 || this.has(CONTENT) || this.has(TEXT) ? SCAN_CONTENT : SCAN_NONE
  }

  /** The last SCAN_CONTENT chunk streamed reasoning text. */
  get reasoning(): boolean {
    return this.reasoningField() >= 0
  }

  /**
   * The last SCAN_CONTENT chunk's generated text, as openai-stream.ts reads it: the reasoning then the content, or
   * else the completions `text`. Pass the same bytes as to scan.
   */
  text(bytes: Buffer): string {
    const reasoning = this.reasoningField()
    if (reasoning < 0 && !this.has(CONTENT)) return this.decode(bytes, TEXT)
    if (reasoning < 0) return this.decode(bytes, CONTENT)
    return this.has(CONTENT) ? this.decode(bytes, reasoning) + this.decode(bytes, CONTENT) : this.decode(bytes, reasoning)
  }

  /** Adds the last SCAN_CONTENT chunk's text (as `text` reads it) to `preview`, without a string for plain text. */
  addText(bytes: Buffer, preview: TextSink): void {
    const reasoning = this.reasoningField()
    if (reasoning >= 0) this.addField(bytes, reasoning, preview)
    if (this.has(CONTENT)) this.addField(bytes, CONTENT, preview)
    else if (reasoning < 0) this.addField(bytes, TEXT, preview)
  }

  private addField(bytes: Buffer, field: number, preview: TextSink): void {
    if (this.spans[field + 2] === 1) preview.add(this.decode(bytes, field))
    else preview.addUtf8(bytes, this.spans[field], this.spans[field + 1])
  }

  private reasoningField(): number {
    return this.has(REASONING_CONTENT) ? REASONING_CONTENT : this.has(REASONING) ? REASONING : -1
  }

  /** A non-empty string was kept for `field`. */
  private has(field: number): boolean {
    return this.spans[field] >= 0 && this.spans[field + 1] > this.spans[field]
  }

  private decode(bytes: Buffer, field: number): string {
    const start = this.spans[field]
    const end = this.spans[field + 1]
    // An escaped string is decoded by JSON.parse, quotes included: just its few bytes, never the chunk.
    if (this.spans[field + 2] === 0) return bytes.toString('utf8', start, end)
    return JSON.parse(bytes.toString('utf8', start - 1, end + 1)) as string
  }

  private topObject(): boolean {
    if (this.i >= this.end || this.b[this.i] !== OPEN_BRACE) return false
    this.i++
    let seenChoices = false
    let next = this.member(true)
    for (; next === MEMBER; next = this.member(false)) {
      let ok: boolean
      switch (this.keyIn(TOP_KEYS)) {
        case Key.Choices:
          ok = !seenChoices && this.choices()
          seenChoices = true
          break
        case Key.MustBeNull:
          ok = this.literal(NULL)
          break
        case Key.Object:
          // `"object": "error"` is an error body; anything escaped is left to JSON.parse.
          if (this.b[this.i] !== QUOTE) ok = this.simple()
          else ok = this.string() && !this.strEscaped && !isBytes(this.b, this.strStart, this.strEnd, ERROR_BYTES)
          break
        default:
          ok = this.simple()
      }
      if (!ok) return false
    }
    return next === END
  }

  /** Exactly one choice, an object (several in one chunk are left to JSON.parse). */
  private choices(): boolean {
    if (this.b[this.i] !== OPEN_BRACKET) return false // (a key's value is never past the end: see key())
    this.i++
    this.ws()
    if (this.i < this.end && this.b[this.i] === CLOSE_BRACKET) return void this.i++, true
    if (!this.choice()) return false
    this.ws()
    if (this.i >= this.end || this.b[this.i] !== CLOSE_BRACKET) return false
    this.i++
    return true
  }

  private choice(): boolean {
    if (this.i >= this.end || this.b[this.i] !== OPEN_BRACE) return false
    this.i++
    let seen = 0
    let next = this.member(true)
    for (; next === MEMBER; next = this.member(false)) {
      const key = this.keyIn(CHOICE_KEYS)
      // A repeated key means the last one counts (JSON.parse): left to it.
      if (key !== Key.Other && (seen & (1 << key)) !== 0) return false
      seen |= 1 << key
      let ok: boolean
      switch (key) {
        case Key.Delta:
          ok = this.b[this.i] === OPEN_BRACE ? this.delta() : this.literal(NULL)
          break
        case Key.Text:
          ok = this.keptString(TEXT)
          break
        case Key.FinishReason:
          // A finish_reason ends the stream: that chunk goes the general way.
          ok = this.b[this.i] !== QUOTE ? this.simple() : this.string() && this.strEnd === this.strStart
          break
        default:
          ok = this.simple()
      }
      if (!ok) return false
    }
    return next === END
  }

  private delta(): boolean {
    this.i++ // the {
    let seen = 0
    let next = this.member(true)
    for (; next === MEMBER; next = this.member(false)) {
      const key = this.keyIn(DELTA_KEYS)
      if (key !== Key.Other && (seen & (1 << key)) !== 0) return false
      seen |= 1 << key
      let ok: boolean
      switch (key) {
        case Key.Content:
          ok = this.keptString(CONTENT)
          break
        case Key.ReasoningContent:
          ok = this.keptString(REASONING_CONTENT)
          break
        case Key.Reasoning:
          ok = this.keptString(REASONING)
          break
        case Key.Refusal:
          ok = this.b[this.i] !== QUOTE ? this.simple() : this.string() && this.strEnd === this.strStart
          break
        case Key.MustBeNull:
          ok = this.literal(NULL)
          break
        default:
          ok = this.simple()
      }
      if (!ok) return false
    }
    return next === END
  }

  /** A value whose string is kept as `field`'s text; any other simple value is no text. */
  private keptString(field: number): boolean {
    if (this.b[this.i] !== QUOTE) return this.simple()
    if (!this.string()) return false
    this.spans[field] = this.strStart
    this.spans[field + 1] = this.strEnd
    this.spans[field + 2] = this.strEscaped ? 1 : 0
    return true
  }

  /**
   * Inside an object, after its `{` (`first`) or after a member's value: MEMBER when a key and its colon were read
   * (the value is next, the key at keyStart..keyEnd), END after the closing `}`, BAD for anything else.
   */
  private member(first: boolean): number {
    this.ws()
    if (this.i >= this.end) return BAD
    const c = this.b[this.i]
    if (c === CLOSE_BRACE) {
      this.i++
      return END
    }
    if (!first) {
      if (c !== COMMA) return BAD
      this.i++
      this.ws()
    }
    return this.key() ? MEMBER : BAD
  }

  /** A key and its colon; a key with an escape is left to JSON.parse (it could spell a known key). */
  private key(): boolean {
    if (!this.string() || this.strEscaped) return false
    this.keyStart = this.strStart
    this.keyEnd = this.strEnd
    this.ws()
    if (this.i >= this.end || this.b[this.i] !== COLON_BYTE) return false
    this.i++
    this.ws()
    return this.i < this.end
  }

  private keyIn(table: KeyTable): Key {
    for (let k = 0; k < table.names.length; k++) {
      if (isBytes(this.b, this.keyStart, this.keyEnd, table.names[k])) return table.keys[k]
    }
    return Key.Other
  }

  /** A string, number, true, false or null (objects and arrays are left to JSON.parse). */
  private simple(): boolean {
    if (this.i >= this.end) return false
    const c = this.b[this.i]
    if (c === QUOTE) return this.string()
    if (c === 110 /* n */) return this.literal(NULL)
    if (c === 116 /* t */) return this.literal(TRUE)
    if (c === 102 /* f */) return this.literal(FALSE)
    return this.number()
  }

  /** A JSON string at this.i, by the grammar (escapes checked, no raw control characters); sets strStart/End/Escaped. */
  private string(): boolean {
    const b = this.b
    const end = this.end
    if (this.i >= end || b[this.i] !== QUOTE) return false
    let i = this.i + 1
    const start = i
    let escaped = false
    for (;;) {
      if (i >= end) return false
      const c = b[i]
      if (c === QUOTE) break
      if (c < 0x20) return false
      if (c === BACKSLASH) {
        escaped = true
        const e = i + 1 < end ? b[i + 1] : 0
        if (e === 117 /* u */) {
          if (i + 5 >= end || !isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return false
          i += 6
          continue
        }
        // " \ / b f n r t
        if (e !== QUOTE && e !== BACKSLASH && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116) return false
        i += 2
        continue
      }
      i++
    }
    this.strStart = start
    this.strEnd = i
    this.strEscaped = escaped
    this.i = i + 1
    return true
  }

  /** A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  private number(): boolean {
    const b = this.b
    const end = this.end
    let i = this.i
    if (i < end && b[i] === 45 /* - */) i++
    if (i >= end) return false
    if (b[i] === 48 /* 0 */) i++
    else if (isDigit(b[i])) while (i < end && isDigit(b[i])) i++
    else return false
    if (i < end && b[i] === 46 /* . */) {
      i++
      if (i >= end || !isDigit(b[i])) return false
      while (i < end && isDigit(b[i])) i++
    }
    if (i < end && (b[i] === 101 || b[i] === 69) /* e E */) {
      i++
      if (i < end && (b[i] === 43 || b[i] === 45)) i++
      if (i >= end || !isDigit(b[i])) return false
      while (i < end && isDigit(b[i])) i++
    }
    this.i = i
    return true
  }

  private literal(word: Buffer): boolean {
    if (this.i + word.length > this.end || !isBytes(this.b, this.i, this.i + word.length, word)) return false
    this.i += word.length
    return true
  }

  /** Skips JSON whitespace. */
  private ws(): void {
    const b = this.b
    while (this.i < this.end) {
      const c = b[this.i]
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return
      this.i++
    }
  }
}

const NULL = Buffer.from('null')
const TRUE = Buffer.from('true')
const FALSE = Buffer.from('false')

interface KeyTable {
  names: Buffer[]
  keys: Key[]
}

function keyTable(entries: Record<string, Key>): KeyTable {
  return {names: Object.keys(entries).map((name) => Buffer.from(name)), keys: Object.values(entries)}
}

/** Whether `b[start, end)` holds exactly `word`. */
function isBytes(b: Buffer, start: number, end: number, word: Buffer): boolean {
  if (end - start !== word.length) return false
  for (let k = 0; k < word.length; k++) if (b[start + k] !== word[k]) return false
  return true
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
}
