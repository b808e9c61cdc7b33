import {StringDecoder} from 'node:string_decoder'
import {createParser} from 'eventsource-parser'
import {createSseParser, SSE_ERROR_EVENT} from '../../src/http/sse.js'
import {createRng, randomInt, type Rng} from '../../src/prng.js'

type Event = [data: string, event: string | undefined]

function events(pieces: Buffer[]): Event[] {
  const out: Event[] = []
  const parser = createSseParser((bytes, start, end, event) => out.push([bytes.toString('utf8', start, end), event]))
  for (const piece of pieces) {
    // Each piece inside a larger buffer, as a socket read is: the parser must stay within [start, end).
    const read = Buffer.concat([Buffer.from('\n\ndata: junk\n\n'), piece, Buffer.from('\r\n\n:x\n')])
    parser.feed(read, 14, 14 + piece.length)
    read.fill(0x41) // the read buffer is reused after the call: nothing may still point into it
  }
  parser.end()
  return out
}

/**
 * The reference: eventsource-parser (the SSE library this parser replaced) over the decoded text, as the measured path
 * used it — a leading byte order mark dropped, llama.cpp's `error:` field passed on as an error event, and the end of
 * the body terminating a final event.
 */
function referenceEvents(pieces: Buffer[]): Event[] {
  const out: Event[] = []
  const decoder = new StringDecoder('utf8')
  const parser = createParser({
    onEvent: (event) => out.push([event.data, event.event]),
    onError: (error) => {
      if (error.type === 'unknown-field' && error.field === SSE_ERROR_EVENT) out.push([error.value ?? '', SSE_ERROR_EVENT])
    },
  })
  let atStart = true
  for (const piece of pieces) {
    let text = decoder.write(piece)
    if (atStart && text.length > 0) {
      atStart = false
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (text.length > 0) parser.feed(text)
  }
  parser.feed(decoder.end() + '\n\n')
  return out
}

const pick = <T>(rng: Rng, items: T[]): T => items[randomInt(rng, items.length)]!

const LINES = [
  'data: {"a":1}',
  'data:{"b":"é🚀"}',
  'data',
  'data:',
  'data:  two spaces',
  'data: [DONE]',
  'event: error',
  'event:',
  'event: response.output_text.delta',
  ': ping',
  ':',
  'id: 5',
  'retry: 100',
  'retry: x',
  'error: {"code":400,"message":"too long"}',
  'error',
  'foo: bar',
  'dat: x',
  'datas: x',
  '\uFEFFdata: x',
  '',
  '',
  '',
]

function randomStream(rng: Rng): Buffer {
  let text = rng() < 0.2 ? '\uFEFF' : ''
  for (let n = randomInt(rng, 12); n > 0; n--) text += pick(rng, LINES) + pick(rng, ['\n', '\n', '\r\n', '\r'])
  if (rng() < 0.3) text += pick(rng, LINES) // unterminated at the end
  return Buffer.from(text)
}

/** The bytes cut at random places, sometimes into single bytes (inside UTF-8 characters, between CR and LF). */
function randomCuts(rng: Rng, bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = []
  let at = 0
  while (at < bytes.length) {
    const size = 1 + randomInt(rng, rng() < 0.3 ? 2 : bytes.length)
    pieces.push(bytes.subarray(at, at + size))
    at += size
  }
  return pieces
}

describe('sse parser', () => {
  test('random streams cut at random places give the same events as eventsource-parser', () => {
    const rng = createRng(7)
    let seen = 0
    for (let n = 0; n < 3000; n++) {
      const bytes = randomStream(rng)
      const expected = referenceEvents([bytes])
      seen += expected.length
      const pieces = randomCuts(rng, bytes)
      expect({stream: bytes.toString(), events: events(pieces)}).toEqual({stream: bytes.toString(), events: expected})
    }
    expect(seen).toBeGreaterThan(3000)
  })

  test('an event with several data lines joins them with LF; one spanning reads arrives whole', () => {
    expect(events([Buffer.from('data: a\ndata: b\r\n\r\n')])).toEqual([['a\nb', undefined]])
    expect(events([Buffer.from('data: {"x":'), Buffer.from('1}\n'), Buffer.from('\n')])).toEqual([['{"x":1}', undefined]])
  })

  test('a CR at the end of one read and the LF at the start of the next are one line end', () => {
    expect(events([Buffer.from('data: a\r'), Buffer.from('\ndata: b\r\n\r\n')])).toEqual([['a\nb', undefined]])
  })

  test('a restarted parser forgets the last body', () => {
    const out: string[] = []
    const parser = createSseParser((bytes, start, end) => out.push(bytes.toString('utf8', start, end)))
    parser.feed(Buffer.from('event: error\ndata: half'))
    parser.restart()
    parser.feed(Buffer.from('\uFEFFdata: new\n\n'))
    expect(out).toEqual(['new'])
  })
})
