/**
 * I/O: writes records as JSON Lines for `convert-longbench` and `synth` (a dataset file, not a run
 * output, so it does not go through output/write.ts). Writes to `<path>.tmp` and renames at the end,
 * so an interrupted conversion never leaves a half-written dataset behind.
 */
import {createWriteStream} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import {dirname} from 'node:path'
import {once} from 'node:events'
import {inputError} from '../errors.js'

/** Writes each record as one JSON line; returns the number of lines written. */
export async function writeJsonl(path: string, records: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  try {
    await mkdir(dirname(path), {recursive: true})
  } catch (err) {
    throw inputError(`${path}: cannot create the output directory (${(err as NodeJS.ErrnoException).code}) — choose another --output`)
  }
  const tmp = `${path}.tmp`
  const out = createWriteStream(tmp, {encoding: 'utf8'})
  let count = 0
  try {
    await once(out, 'open')
    for await (const rec of records) {
      if (!out.write(JSON.stringify(rec) + '\n')) await once(out, 'drain')
      count++
    }
    out.end()
    await once(out, 'finish')
    await rename(tmp, path)
  } catch (err) {
    out.destroy()
    await rm(tmp, {force: true})
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC') throw inputError(`${path}: cannot write (${code}) — choose another --output`)
    throw err
  }
  return count
}
