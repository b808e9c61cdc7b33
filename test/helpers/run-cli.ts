/**
 * Spawns the real CLI (`node bin/run.js …`) as a child process, the truest test of exit codes, stdout/stderr
 * and signal handling. It runs the compiled code in dist/, so build first (`npx tsc -p .`; `npm test` does).
 *
 *   const r = await runCli(['run', '--dataset', file, '--endpoint', url])
 *   expect(r.code).toBe(0)
 *
 *   const cli = spawnCli(['run', …])            // for signals: cli.child.kill('SIGINT')
 *   await waitFor(() => cli.stderr().includes('…'))
 *   const r = await cli.done
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'

/** jest runs with the project root as cwd (rootDir). */
const ROOT = process.cwd()
/** The CLI entry point. */
export const BIN = path.join(ROOT, 'bin', 'run.js')

export interface CliResult {
  /** Exit code, or null when a signal killed the process. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** Working directory of the child (where it looks for .env); default the project root. */
  cwd?: string
  /** Extra environment. The parent's OPENAI_API_KEY is never passed on unless given here. */
  env?: Record<string, string>
  /** Kill the child (SIGKILL) after this long; the result then has signal SIGKILL. Default 30 s. */
  timeoutMs?: number
  /** Run as this user/group (needs root): the only way to meet a permission error when the tests run as root. */
  uid?: number
  gid?: number
  /** A command the CLI is started through, e.g. `['taskset', '-c', '0']` (it must exec node in place). */
  prefix?: string[]
}

/** A running CLI: its process, live views of its output so far, and its final result. */
export interface RunningCli {
  child: ChildProcess
  stdout(): string
  stderr(): string
  done: Promise<CliResult>
}

/** Starts `node bin/run.js ...args` with a clean environment (no inherited API key, no colour). */
export function spawnCli(args: string[], opts: CliOptions = {}): RunningCli {
  if (!existsSync(path.join(ROOT, 'dist', 'commands', 'run.js'))) {
    throw new Error(`dist/ is not built: run \`npx tsc -p .\` in ${ROOT} before these tests`)
  }
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...opts.env}
  // A developer's real key in the environment must neither leak into these tests nor make them pass by accident.
  if (!opts.env || !('OPENAI_API_KEY' in opts.env)) delete env.OPENAI_API_KEY
  const [command, ...argv] = [...(opts.prefix ?? []), process.execPath, BIN, ...args]
  const child = spawn(command, argv, {cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.gid})
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    // 'close' (not 'exit') so every byte of stdout/stderr has been read.
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
  })
  return {child, stdout: () => stdout, stderr: () => stderr, done}
}

/** Runs the CLI to completion. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, opts).done
}

/** Polls `condition` every `everyMs` until it holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
