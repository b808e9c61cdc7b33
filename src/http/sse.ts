import {StringDecoder} from 'node:string_decoder'
import {createParser, type EventSourceParser} from 'eventsource-parser'

/**
 * Receives the `data` of each complete SSE event, in order, with its `event:` type when the server named one
 * (undefined otherwise, not "message"). An event typed `error` is a failure the server reports after its HTTP 200.
 */
export type SseDataHandler = (data: string, event?: string) => void

/** The SSE event type under which a server's in-stream failure is handed on (see createSseParser). */
export const SSE_ERROR_EVENT = 'error'

/** Bytes → SSE `data` strings, buffering across arbitrary chunk boundaries. */
export interface SseParser {
  /** Feed the next piece of the body; may be cut anywhere, even inside a UTF-8 character. */
  feed(chunk: Buffer | string): void
  /**
   * The body ended. Dispatches a final event that was not followed by a blank line (several servers end
   * with `data: [DONE]\n`), so the caller should treat anything dispatched from here as possibly
   * truncated.
   */
  end(): void
  /** Drops whatever the last body left pending: the next feed starts a new body (see createSseParser). */
  restart(): void
}

/**
 * Pure bytes → events layer. eventsource-parser does the WHATWG line/field rules (CR/LF/CRLF, `: ping`
 * comments, multi-line `data:`); a StringDecoder in front of it keeps a multi-byte UTF-8 character
 * that straddles two TCP reads intact.
 *
 * llama.cpp (2025 builds) reports a failure after its HTTP 200 as a line of its own, `error: {"code":400,…}`: an
 * unknown SSE field, which the WHATWG rules (and eventsource-parser's onEvent) drop silently, and the stream then
 * ends with a plain `data: [DONE]`. eventsource-parser hands unknown fields to onError, so such a line is passed on
 * as an `error`-typed event with the field's value as its data, the same shape as `event: error` + `data: …`.
 *
 * A parser can be restarted for the next body rather than made anew: it is a dozen closures and a decoder (≈ 1.3 kB)
 * that live as long as the stream (see measured-transport.ts, StreamReader).
 */
export function createSseParser(onData: SseDataHandler): SseParser {
  const decoder = new StringDecoder('utf8')
  const parser: EventSourceParser = createParser({
    onEvent: (event) => onData(event.data, event.event),
    onError: (error) => {
      if (error.type === 'unknown-field' && error.field === SSE_ERROR_EVENT) onData(error.value ?? '', SSE_ERROR_EVENT)
    },
  })
  let atStart = true
  return {
    restart() {
      decoder.end()
      parser.reset()
      atStart = true
    },
    feed(chunk) {
      let text = typeof chunk === 'string' ? chunk : decoder.write(chunk)
      if (atStart && text.length > 0) {
        atStart = false
        // eventsource-parser looks for a BOM as its three UTF-8 byte values, which decoded text never holds; left
        // in, it would turn the first line into an unknown field and lose that event.
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      if (text.length > 0) parser.feed(text)
    },
    end() {
      const rest = decoder.end()
      // WHATWG says to drop an event left pending at end of file; LLM servers that omit the final blank
      // line still mean it, so terminate it. A cut mid-line then reaches the caller as a truncated event.
      parser.feed(rest + '\n\n')
    },
  }
}
