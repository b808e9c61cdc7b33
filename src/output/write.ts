import {once} from 'node:events'
import {createWriteStream, statSync, type WriteStream} from 'node:fs'
import {mkdir, readdir, rename, rm, writeFile} from 'node:fs/promises'
import {finished} from 'node:stream/promises'
import path from 'node:path'
import {inputError} from '../errors.js'

/**
 * The only module that writes files. Summaries are written atomically (temp file + rename) so an interrupted
 * run never leaves a half-written JSON or CSV behind.
 */

/**
 * Before anything is sent: refuses (exit 2) a --output-dir that holds files, unless `allowExisting` (--force).
 * Creates nothing, so a run that fails to start (unreachable server, bad model) leaves no empty directory behind;
 * {@link openOutputDir} creates it once the run is about to write.
 */
export async function checkOutputDir(dir: string, opts: {allowExisting: boolean}): Promise<void> {
  let entries: string[] = []
  try {
    entries = await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return
    throw inputError(`--output-dir ${dir}: ${code === 'ENOTDIR' ? 'is a file, not a directory' : `cannot read it (${(error as Error).message})`}`)
  }
  if (entries.length > 0 && !opts.allowExisting) {
    throw inputError(
      `--output-dir ${dir} already exists and is not empty; refusing to overwrite earlier results`,
      'Choose another --output-dir, pass --force to overwrite, or --resume DIR to continue that run.',
    )
  }
}

/** Files `dual-bench run` writes into its output directory (and nothing else). */
const RUN_FILE = /^(run\.json|requests\.jsonl|metrics_summary\.csv|overall_summary\.json|report\.html|report\.md|concurrency_\d+_round_\d+\.json|requests_c\d+_r\d+\.csv)$/

/**
 * The run is about to write its first file: creates `dir`, and removes an earlier run's files from it (--force), so
 * the new requests.jsonl is not appended to the old one and no stale round file is mixed into the new run's report.
 * Other files are left alone.
 */
export async function openOutputDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, {recursive: true})
  } catch (error) {
    throw inputError(`--output-dir ${dir}: cannot create it (${(error as Error).message})`)
  }
  for (const name of await readdir(dir)) if (RUN_FILE.test(name)) await rm(path.join(dir, name), {force: true})
}

function tempPath(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
}

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = tempPath(file)
  await writeFile(tmp, content)
  await rename(tmp, file)
}

/**
 * A file too large to build as one string (a 100 000-request round JSON), written piece by piece to a temp file that
 * replaces `file` only on {@link AtomicFileWriter.commit} — the same guarantee as {@link writeFileAtomic}.
 * `write` honours backpressure, so at most one stream buffer (plus the caller's piece) is in memory.
 */
export class AtomicFileWriter {
  private readonly tmp: string
  private readonly stream: WriteStream
  private error: Error | undefined

  constructor(private readonly file: string) {
    this.tmp = tempPath(file)
    this.stream = createWriteStream(this.tmp)
    // Kept, and thrown by the next write/commit: an 'error' with no listener would crash the process instead.
    this.stream.on('error', (error) => (this.error ??= error))
  }

  async write(text: string): Promise<void> {
    if (this.error) throw this.error
    if (this.stream.write(text)) return
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.stream.off('drain', done).off('error', done)
        if (this.error) reject(this.error)
        else resolve()
      }
      this.stream.on('drain', done).on('error', done)
    })
  }

  /** Flushes, closes and renames the temp file over `file`. */
  async commit(): Promise<void> {
    if (this.error) throw this.error
    this.stream.end()
    await finished(this.stream)
    if (this.error) throw this.error
    await rename(this.tmp, this.file)
  }

  /** Drops the temp file; `file` keeps what it had. */
  async abort(): Promise<void> {
    this.stream.destroy()
    await finished(this.stream).catch(() => undefined)
    await rm(this.tmp, {force: true})
  }
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n')
}

/** Where one line sits in a file, in bytes (newline excluded). */
export interface LineLocation {
  offset: number
  length: number
}

/**
 * Appends one JSON line per record as it finishes (requests.jsonl), so a crash loses nothing already measured.
 * Lines are handed to the file stream every HAND_OFF_MS (or per PENDING_BYTES), not one by one nor once per loop
 * turn: each hand-off is a write on libuv's thread pool, and on a saturated client core that thread's wake-up and
 * switches cost the event loop ≈ 9 % of its time at 45 k records/s with one hand-off per loop turn; every 20 ms
 * measured +3–5 % requests/s, as much as writing synchronously on the loop (which a slow disk would stall).
 * A finished record is in memory at most 20 ms before its write starts: only a kill -9 or a crash of Node itself
 * can lose those (the run closes the appender on errors and signals).
 *
 * Pending lines wait as UTF-8 in a buffer outside the JS heap, each line's string garbage at once. Kept as one
 * pending string they were a rope of every line for up to 20 ms, which a young-generation collection at a wave's
 * end (256 records at once) had to copy, and each hand-off flattened it into a large string of the old generation.
 */
export class JsonlAppender {
  private readonly stream: WriteStream
  /** Byte size of the file once every write so far has landed (it is opened for appending). */
  private end: number
  /** Lines not yet handed to the stream: the first `used` bytes of `buffer`. */
  private buffer: Buffer
  private used = 0
  /** Buffers whose write has landed, to fill again. */
  private readonly spare: Buffer[] = []
  /** The hand-off timer, while lines are pending. */
  private timer: NodeJS.Timeout | undefined = undefined

  /**
   * `pendingBytes`: the buffer's size. The client warm-up makes it small, so that it hands lines off when the buffer
   * fills, as a run does at a wave's end: a path first taken during a round throws the optimized code away there.
   */
  constructor(
    file: string,
    private readonly pendingBytes = PENDING_BYTES,
  ) {
    this.end = statSync(file, {throwIfNoEntry: false})?.size ?? 0
    this.stream = createWriteStream(file, {flags: 'a'})
    this.buffer = Buffer.allocUnsafeSlow(pendingBytes)
  }

  /** Queues one line; returns where it will sit, so it can be read back (see {@link flush}). */
  write(value: unknown): LineLocation {
    const line = JSON.stringify(value)
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const most = 3 * line.length + 1
    if (this.used + most > this.pendingBytes) this.handOff()
    let length: number
    if (most > this.pendingBytes) {
      // A line longer than the buffer goes on its own, after the lines before it.
      const bytes = Buffer.from(line + '\n')
      this.stream.write(bytes)
      length = bytes.length - 1
    } else {
      length = this.buffer.write(line, this.used)
      this.buffer[this.used + length] = 0x0a
      this.used += length + 1
      this.timer ??= setTimeout(this.onTimer, HAND_OFF_MS)
    }
    const at = {offset: this.end, length}
    this.end += length + 1
    return at
  }

  /** Resolves once every line written so far is in the file (readable through another handle). */
  async flush(): Promise<void> {
    this.handOff()
    // Writes complete in order, so an empty write's callback runs after every earlier line is written.
    await new Promise<void>((resolve, reject) => this.stream.write('', (error) => (error ? reject(error) : resolve())))
  }

  async close(): Promise<void> {
    this.handOff()
    this.stream.end()
    await once(this.stream, 'close')
  }

  // A method, not a per-instance arrow function: in write(), the warm-up's appender and the run's then call
  // the same function, where a different target would throw the warmed code away.
  private handOff(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.used === 0) return
    const full = this.buffer
    // The stream holds the bytes until they are written: fill another buffer meanwhile.
    this.stream.write(full.subarray(0, this.used), (error) => {
      if (!error) this.spare.push(full)
    })
    this.buffer = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.pendingBytes)
    this.used = 0
  }

  private readonly onTimer = (): void => this.handOff()
}

/** Pending lines are handed to the stream this often, and when they fill PENDING_BYTES even sooner. */
const HAND_OFF_MS = 20
const PENDING_BYTES = 256 * 1024
