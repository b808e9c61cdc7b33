import {cp, mkdtemp} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {loadRun} from '../../src/report/load-run.js'
import type {RunResults} from '../../src/report/model.js'

/** Two hand-made run directories (written by the real writers): "LMCache off" (A) and "LMCache on" (B). */
export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/report')
export const OFF = path.join(FIXTURES, 'lmcache-off')
export const ON = path.join(FIXTURES, 'lmcache-on')

export function loadFixture(dir: string): Promise<RunResults> {
  return loadRun(dir)
}

/** A private copy of a fixture run directory in os.tmpdir(), so commands can write report files into it. */
export async function copyFixture(dir: string): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-report-'))
  const target = path.join(tmp, path.basename(dir))
  await cp(dir, target, {recursive: true})
  return target
}

/** Runs an oclif command class in-process, capturing stdout/stderr lines and the exit code. */
export async function runCommand(
  cmd: {run(argv: string[], root: string): Promise<unknown>},
  argv: string[],
): Promise<{stdout: string; stderr: string; result?: unknown; exit: number; error?: Error}> {
  const out: string[] = []
  const err: string[] = []
  // oclif's this.log / logJson go through console.log, logToStderr through console.error.
  const {log, error: logError} = console
  console.log = (...args: unknown[]) => void out.push(args.map(String).join(' ') + '\n')
  console.error = (...args: unknown[]) => void err.push(args.map(String).join(' ') + '\n')
  try {
    const result = await cmd.run(argv, process.cwd())
    return {stdout: out.join(''), stderr: err.join(''), result, exit: 0}
  } catch (error) {
    const e = error as Error & {oclif?: {exit?: number}}
    return {stdout: out.join(''), stderr: err.join(''), exit: e.oclif?.exit ?? 1, error: e}
  } finally {
    console.log = log
    console.error = logError
  }
}
