import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {inputError} from '../errors.js'
import type {RoundResult, RunResults} from './model.js'
import {parseRoundJson, parseRunJson} from './parse-run.js'

/** `concurrency_<C>_round_<R>.json`, as output/… names them. */
const ROUND_FILE = /^concurrency_(\d+)_round_(\d+)\.json$/

const HINT = 'Pass the output directory of `dual-bench run` (it holds run.json and concurrency_<C>_round_<R>.json).'

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw inputError(`${file} is missing`, HINT)
    throw inputError(`${file}: cannot read it (${code ?? (error as Error).message})`)
  }
}

/**
 * I/O: reads a run's output directory (run.json + every round JSON) into RunResults. Throws an input error
 * (exit 2) naming the directory or file when something is missing or malformed. Rounds the run planned
 * but did not write (an interrupted run) become warnings, not errors, so a partial run can still be reported.
 */
export async function loadRun(dir: string): Promise<RunResults> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw inputError(`${dir}: no such directory`, HINT)
    if (code === 'ENOTDIR') throw inputError(`${dir} is a file, not a run directory`, HINT)
    throw inputError(`${dir}: cannot read it (${code ?? (error as Error).message})`)
  }
  const runFile = path.join(dir, 'run.json')
  const run = parseRunJson(await readText(runFile), runFile)

  const files = entries.filter((f) => ROUND_FILE.test(f))
  if (files.length === 0) {
    throw inputError(`${dir} has run.json but no concurrency_<C>_round_<R>.json: the run wrote no complete round`, HINT)
  }
  const rounds: RoundResult[] = []
  for (const name of files) {
    const file = path.join(dir, name)
    const parsed = parseRoundJson(await readText(file), file)
    const [, c, r] = ROUND_FILE.exec(name)!
    if (parsed.concurrency !== Number(c) || parsed.round !== Number(r)) {
      throw inputError(
        `${file}: its configuration says concurrency ${parsed.concurrency} round ${parsed.round}, but the file name says ${c}/${r}`,
        'Rename the file back, or re-run the benchmark.',
      )
    }
    rounds.push({...parsed, file: name})
  }

  // The run's own level order (e.g. 20 5 10 stays in that order), then any level on disk it did not list.
  const planned = Array.isArray(run.configuration.concurrency) ? (run.configuration.concurrency as number[]) : []
  const rank = (c: number) => (planned.includes(c) ? planned.indexOf(c) : planned.length + c)
  rounds.sort((a, b) => rank(a.concurrency) - rank(b.concurrency) || a.round - b.round)

  const warnings: string[] = []
  for (const c of planned) {
    for (const r of [1, 2]) {
      if (!rounds.some((x) => x.concurrency === c && x.round === r)) {
        warnings.push(`concurrency_${c}_round_${r}.json is missing: the run did not finish this round (interrupted?)`)
      }
    }
  }
  return {dir, run, rounds, warnings}
}
