/**
 * I/O: streams the records of a dataset file — JSONL, a JSON array, or `{"data": [...]}` — as parsed
 * values with their line numbers, without holding the file in memory. Stopping the iteration early
 * (break / return) closes the file, which is how `--num-samples` avoids reading a 1 GB file to the end.
 */
import {createReadStream} from 'node:fs'
import {access, constants, stat} from 'node:fs/promises'
import {extname} from 'node:path'
import {createInterface} from 'node:readline'
import {Readable} from 'node:stream'
import {inputError} from '../errors.js'
import {describeParseError, JsonElementSplitter, lineOfParseError, SplitError} from './json-splitter.js'
import {decodeUtf8} from './utf8-decode.js'

/** A parsed record, or a record that failed to parse (skippable with --skip-invalid). */
export type RawRecord =
  | {kind: 'value'; value: unknown; line: number; index: number}
  | {kind: 'error'; message: string; line: number; index: number}

/** File format as reported by the loader. */
export type DatasetFormat = 'json' | 'jsonl'

/** Extensions always read line by line. */
const JSONL_EXTENSIONS = new Set(['.jsonl', '.ndjson'])

/** Checks that `path` is a readable regular file; throws a user-facing error otherwise. */
export async function assertReadableFile(path: string, what = 'dataset'): Promise<number> {
  let size: number
  try {
    const st = await stat(path)
    if (st.isDirectory()) throw inputError(`${path}: is a directory, not a ${what} file — pass the path of a .json or .jsonl file`)
    size = st.size
    // stat() needs no read permission; without this the open() in the reader fails later with a raw EACCES.
    await access(path, constants.R_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw inputError(`${path}: ${what} file not found — check the path`)
    if (code === 'EACCES') throw inputError(`${path}: permission denied — make the file readable`)
    throw err
  }
  return size
}

/** Picks JSON vs JSONL from the extension; anything else is sniffed by `readRecords`. */
export function formatFromExtension(path: string): DatasetFormat | undefined {
  const ext = extname(path).toLowerCase()
  if (JSONL_EXTENSIONS.has(ext)) return 'jsonl'
  return undefined
}

/** Holder the caller can read after iteration to learn which format was actually parsed. */
export interface ReadInfo {
  format?: DatasetFormat
}

/**
 * Streams records from `path`. `.jsonl`/`.ndjson` are read line by line; other files are read as JSON
 * (array or `{"data": [...]}`), except that a file whose first value is an object without a `data`
 * array and which has more values after it is re-read as JSONL (JSONL saved with a .json name).
 * Structural errors (not a JSON array, unterminated file) throw a user-facing error with file:line.
 */
export async function* readRecords(path: string, info: ReadInfo = {}): AsyncGenerator<RawRecord> {
  await assertReadableFile(path)
  if (formatFromExtension(path) === 'jsonl') {
    info.format = 'jsonl'
    yield* readJsonl(path)
    return
  }
  const fallback = {toJsonl: false}
  info.format = 'json'
  yield* readJsonElements(path, fallback)
  if (fallback.toJsonl) {
    info.format = 'jsonl'
    yield* readJsonl(path)
  }
}

async function* readJsonl(path: string): AsyncGenerator<RawRecord> {
  const file = createReadStream(path)
  // readline takes the strict decoder's text as is; an encoding error surfaces from the `for await` below.
  const stream = Readable.from(decodeUtf8(file, path))
  const lines = createInterface({input: stream, crlfDelay: Infinity})
  let lineNo = 0
  let index = 0
  try {
    for await (const raw of lines) {
      lineNo++
      const text = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw
      if (text.trim() === '') continue
      try {
        yield {kind: 'value', value: JSON.parse(text), line: lineNo, index: index++}
      } catch (err) {
        yield {kind: 'error', message: `invalid JSON (${describeParseError(err)})`, line: lineNo, index: index++}
      }
    }
  } finally {
    lines.close()
    stream.destroy()
    file.destroy()
  }
}

async function* readJsonElements(path: string, fallback: {toJsonl: boolean}): AsyncGenerator<RawRecord> {
  const stream = createReadStream(path, {highWaterMark: 1 << 20})
  const splitter = new JsonElementSplitter()
  let index = 0
  const toRecord = (el: {text: string; line: number}): RawRecord => {
    try {
      return {kind: 'value', value: JSON.parse(el.text), line: el.line, index: index++}
    } catch (err) {
      return {kind: 'error', message: `invalid JSON (${describeParseError(err)})`, line: lineOfParseError(err, el.text, el.line), index: index++}
    }
  }
  try {
    for await (const chunk of decodeUtf8(stream, path)) {
      for (const el of splitter.feed(chunk)) yield toRecord(el)
      // Text after the top-level value settles the question (error or JSONL fallback): stop reading.
      if (splitter.trailingLine !== undefined) break
    }
    if (splitter.trailingLine === undefined) for (const el of splitter.end()) yield toRecord(el)
  } catch (err) {
    if (err instanceof SplitError) {
      throw inputError(`${path}:${err.line}: ${err.message} — a JSON dataset must be an array of samples or {"data": [...]}; use .jsonl for one sample per line`)
    }
    throw err
  } finally {
    stream.destroy()
  }
  if (splitter.shape === 'object' && !splitter.foundDataArray) {
    if (splitter.trailingLine !== undefined) {
      fallback.toJsonl = true
      return
    }
    throw inputError(`${path}:1: the JSON object has no "data" array — put the samples in an array, in {"data": [...]}, or one per line in a .jsonl file`)
  }
  if (splitter.trailingLine !== undefined) {
    throw inputError(`${path}:${splitter.trailingLine}: unexpected content after the end of the JSON ${splitter.shape === 'array' ? 'array' : 'object'} — remove it, or use .jsonl for one sample per line`)
  }
}
