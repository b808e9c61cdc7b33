/**
 * Strict UTF-8 decoding of a dataset file's byte stream, chunk by chunk.
 *
 * Why not `createReadStream(path, {encoding: 'utf8'})`: Node's decoder silently turns every invalid byte into
 * U+FFFD, so a Latin-1 or GBK file ("café" → "caf�") is loaded and sent as garbage. A fatal `TextDecoder` rejects
 * the bytes instead, and costs about the same as Node's own decoder on a 1 GB file.
 */
import {isUtf8} from 'node:buffer'
import {inputError} from '../errors.js'

const NEWLINE = 0x0a

/** Pure: "UTF-16 LE" / "UTF-16 BE" when `head` starts with a UTF-16 byte order mark, else undefined. */
export function utf16Bom(head: Uint8Array): string | undefined {
  if (head.length < 2) return undefined
  if (head[0] === 0xff && head[1] === 0xfe) return 'UTF-16 LE'
  if (head[0] === 0xfe && head[1] === 0xff) return 'UTF-16 BE'
  return undefined
}

function isContinuation(b: number): boolean {
  return (b & 0xc0) === 0x80
}

/**
 * Pure: 0-based index, among the lines of `chunk` (split at `\n`), of the first line that is not valid UTF-8.
 * `chunk` is the one a streaming decoder rejected, so it may start in the middle of a character begun in the
 * previous chunk (those leading continuation bytes are not checked) and may end in the middle of one (only the
 * last line can, and it is reported only when no earlier line is bad). Returns 0 when no line alone is bad: the
 * error is then where the previous chunk's unfinished character meets this chunk's first line.
 */
export function firstInvalidLine(chunk: Uint8Array): number {
  let start = 0
  while (start < 3 && start < chunk.length && isContinuation(chunk[start]!)) start++
  let line = 0
  while (start <= chunk.length) {
    let end = chunk.indexOf(NEWLINE, start)
    if (end === -1) end = chunk.length
    if (!isUtf8(chunk.subarray(start, end))) return line
    line++
    start = end + 1
  }
  return 0
}

/**
 * Decodes `bytes` (a file's chunks, in order) as UTF-8, yielding text chunks. Throws a user-facing error naming
 * `path:line` on the first invalid byte, and `path:1` when the file starts with a UTF-16 byte order mark. A UTF-8
 * byte order mark is dropped. Lines are counted only to name the bad one; the caller keeps its own line numbers.
 */
export async function* decodeUtf8(bytes: AsyncIterable<Buffer>, path: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', {fatal: true})
  let linesBefore = 0
  let first = true
  for await (const chunk of bytes) {
    if (first) {
      first = false
      const utf16 = utf16Bom(chunk)
      if (utf16) {
        throw inputError(
          `${path}:1: the file is ${utf16} (it starts with a UTF-16 byte order mark), not UTF-8 — re-save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 ${path} > fixed.jsonl`,
        )
      }
    }
    let text: string
    try {
      text = decoder.decode(chunk, {stream: true})
    } catch {
      throw notUtf8(path, linesBefore + firstInvalidLine(chunk) + 1)
    }
    linesBefore += countNewlines(chunk)
    if (text !== '') yield text
  }
  let rest: string
  try {
    rest = decoder.decode()
  } catch {
    // The file ends in the middle of a multi-byte character.
    throw notUtf8(path, linesBefore + 1)
  }
  if (rest !== '') yield rest
}

function notUtf8(path: string, line: number): Error {
  return inputError(
    `${path}:${line}: not valid UTF-8 (the file is in another encoding, e.g. GBK or Latin-1) — re-save it as UTF-8, e.g. iconv -f GBK -t UTF-8 ${path} > fixed.jsonl`,
  )
}

function countNewlines(chunk: Buffer): number {
  let n = 0
  for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++
  return n
}
