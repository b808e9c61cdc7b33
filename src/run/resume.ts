import {createReadStream} from 'node:fs'
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {inputError} from '../errors.js'
import type {RequestRecord} from '../record/record.js'
import {requestKey} from '../runner/runner.js'

/**
 * Flags never stored in run.json and free to differ on --resume: where or how we look, not what is measured, and
 * the secrets (--api-key, and --header, whose values may be tokens) — those must be given again when resuming.
 */
const FREE_ON_RESUME = new Set(['resume', 'force', 'api-key', 'header', 'output-dir', 'progress', 'json', 'insecure', 'drain-timeout'])

export interface ResumeState {
  /** The flags the run was started with (no secret). */
  flags: Record<string, unknown>
  /** run.json as written by the earlier invocation. */
  runJson: Record<string, unknown> & {salts?: Record<string, string | null>; sessions?: unknown[]}
  /** Records already measured, by requestKey. */
  completed: Map<string, RequestRecord>
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
  const completed = new Map<string, RequestRecord>()
  const file = path.join(dir, 'requests.jsonl')
  try {
    const lines = createInterface({input: createReadStream(file), crlfDelay: Infinity})
    for await (const line of lines) {
      if (!line.trim()) continue
      let record: RequestRecord
      try {
        record = JSON.parse(line)
      } catch {
        continue // a line cut by a crash mid-write: that request is sent again
      }
      // Cancelled by a second Ctrl-C: never measured, so the resumed run sends it (an uninterrupted run would have).
      if (record.error?.category === 'cancelled') continue
      const key = requestKey(record)
      if (!completed.has(key)) completed.set(key, record)
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw inputError(`--resume ${dir}: cannot read ${file} (${(error as Error).message})`)
  }
  const sessions = Array.isArray(runJson.sessions) ? runJson.sessions.length : 1
  return {flags: runJson.flags as Record<string, unknown>, runJson, completed, session: sessions + 1}
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
