import {createReadStream} from 'node:fs'
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {inputError} from '../errors.js'
import {LineReader} from '../output/line-reader.js'
import type {LineLocation} from '../output/write.js'
import type {RequestRecord} from '../record/record.js'
import {type CompletedRequests, type CompletedRound, requestKey} from '../runner/runner.js'

/**
 * Flags never stored in run.json and free to differ on --resume: where or how we look, not what is measured, and
 * the secrets (--api-key, and --header, whose values may be tokens) — those must be given again when resuming.
 */
const FREE_ON_RESUME = new Set(['resume', 'force', 'api-key', 'header', 'output-dir', 'progress', 'json', 'insecure', 'drain-timeout', 'workers', 'client-warmup'])

export interface ResumeState {
  /** The flags the run was started with (no secret). */
  flags: Record<string, unknown>
  /** run.json as written by the earlier invocation. */
  runJson: Record<string, unknown> & {salts?: Record<string, string | null>; sessions?: unknown[]}
  /** Requests already measured: which ones, and where their records sit in DIR/requests.jsonl (appended to on resume). */
  completed: MeasuredLines
  /** This invocation's session number. */
  session: number
}

/** Reads DIR/run.json and DIR/requests.jsonl of an interrupted run. */
export async function loadResumeState(dir: string): Promise<ResumeState> {
  const runFile = path.join(dir, 'run.json')
  let runJson: ResumeState['runJson']
  try {
    runJson = JSON.parse(await readFile(runFile, 'utf8'))
  } catch (error) {
    throw inputError(`--resume ${dir}: cannot read ${runFile} (${(error as Error).message})`, 'Point --resume at the output directory of an earlier dual-bench run.')
  }
  if (!runJson || typeof runJson.flags !== 'object' || runJson.flags === null) {
    throw inputError(`--resume ${dir}: ${runFile} has no "flags" (written by an older dual-bench?); cannot resume it`)
  }
  const file = path.join(dir, 'requests.jsonl')
  let completed: MeasuredLines
  try {
    completed = await measuredLines(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw inputError(`--resume ${dir}: cannot read ${file} (${(error as Error).message})`)
    completed = new MeasuredLines(file)
  }
  const sessions = Array.isArray(runJson.sessions) ? runJson.sessions.length : 1
  return {flags: runJson.flags as Record<string, unknown>, runJson, completed, session: sessions + 1}
}

/**
 * Requests measured by an earlier invocation, as (level, round, index) and the location of the record's line in
 * `file`: five numbers a request, off the JS heap. The records are read back from the file one round at a time
 * when the runner (the round's summary) and the round files need them, so resuming a large run holds none of them.
 */
export class MeasuredLines implements CompletedRequests {
  private static readonly STRIDE = 5
  /** Per request: level, round, index, offset, length. */
  private rows = new Float64Array(MeasuredLines.STRIDE * 1024)
  private count = 0

  constructor(readonly file: string) {}

  get size(): number {
    return this.count
  }

  /** Adds one measured request; the caller keeps one line per (level, round, index). */
  add(r: Pick<RequestRecord, 'level' | 'round' | 'index'>, at: LineLocation): void {
    const n = MeasuredLines.STRIDE
    if ((this.count + 1) * n > this.rows.length) {
      const bigger = new Float64Array(2 * this.rows.length)
      bigger.set(this.rows)
      this.rows = bigger
    }
    this.rows.set([r.level, r.round, r.index, at.offset, at.length], this.count * n)
    this.count++
  }

  round(level: number, round: number, size: number): MeasuredRound {
    const offset = new Float64Array(size).fill(-1)
    const length = new Uint32Array(size)
    let found = 0
    const n = MeasuredLines.STRIDE
    for (let i = 0; i < this.count * n; i += n) {
      const index = this.rows[i + 2]
      if (this.rows[i] !== level || this.rows[i + 1] !== round || index >= size || offset[index] >= 0) continue
      offset[index] = this.rows[i + 3]
      length[index] = this.rows[i + 4]
      found++
    }
    return new MeasuredRound(this.file, offset, length, found)
  }
}

/** One round's measured requests (see {@link MeasuredLines}). */
export class MeasuredRound implements CompletedRound {
  constructor(
    private readonly file: string,
    /** Per plan index: the line's byte offset, or −1 when not measured. */
    private readonly offset: Float64Array,
    private readonly length: Uint32Array,
    readonly count: number,
  ) {}

  has(index: number): boolean {
    return this.offset[index] >= 0
  }

  /** Where the record of plan `index` sits in the file, if it was measured. */
  location(index: number): LineLocation | undefined {
    return this.offset[index] >= 0 ? {offset: this.offset[index], length: this.length[index]} : undefined
  }

  async *records(): AsyncGenerator<RequestRecord> {
    if (this.count === 0) return
    const reader = await LineReader.open(this.file)
    try {
      for (let index = 0; index < this.offset.length; index++) {
        const at = this.location(index)
        if (at) yield JSON.parse(await reader.read(at)) as RequestRecord
      }
    } finally {
      await reader.close()
    }
  }
}

/** Reads `file` (requests.jsonl): one entry per (level, round, index), the first line wins. */
async function measuredLines(file: string): Promise<MeasuredLines> {
  const measured = new MeasuredLines(file)
  // Only while loading: the index below is what is kept.
  const seen = new Set<string>()
  for await (const {text, at} of linesWithLocations(file)) {
    if (!text.trim()) continue
    let record: RequestRecord
    try {
      record = JSON.parse(text)
    } catch {
      continue // a line cut by a crash mid-write: that request is sent again
    }
    // Cancelled by a second Ctrl-C: never measured, so the resumed run sends it (an uninterrupted run would have).
    if (record.error?.category === 'cancelled') continue
    if (![record.level, record.round, record.index].every((x) => Number.isInteger(x) && x >= 0)) continue // not a record of ours
    const key = requestKey(record)
    if (seen.has(key)) continue
    seen.add(key)
    measured.add(record, at)
  }
  return measured
}

/**
 * The lines of a file with their byte locations (newline excluded). Hand-written: node:readline yields decoded
 * lines without their byte offsets, and those are what the records are read back by.
 */
async function* linesWithLocations(file: string): AsyncGenerator<{text: string; at: LineLocation}> {
  let carry: Buffer = Buffer.alloc(0)
  let carryOffset = 0
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk
    let from = 0
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      yield {text: buf.toString('utf8', from, nl), at: {offset: carryOffset + from, length: nl - from}}
      from = nl + 1
    }
    carryOffset += from
    carry = buf.subarray(from)
  }
  if (carry.length > 0) yield {text: carry.toString('utf8'), at: {offset: carryOffset, length: carry.length}}
}

/**
 * Pure: the flags of a resumed run are the stored ones; flags given again on the command line must agree.
 * Returns the merged flags and the keys that differ (the caller refuses to resume when there are any).
 */
export function mergeResumeFlags(
  stored: Record<string, unknown>,
  explicit: Record<string, unknown>,
): {merged: Record<string, unknown>; differing: string[]} {
  const differing: string[] = []
  for (const [key, value] of Object.entries(explicit)) {
    if (FREE_ON_RESUME.has(key)) continue
    if (JSON.stringify(value) !== JSON.stringify(stored[key])) differing.push(key)
  }
  return {merged: {...stored, ...explicit}, differing}
}

/** The flags worth storing in run.json so --resume can rebuild the configuration. */
export function storableFlags(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(flags)) if (!FREE_ON_RESUME.has(key) && value !== undefined) out[key] = value
  return out
}
