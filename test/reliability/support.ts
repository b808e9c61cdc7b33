/**
 * Shared pieces of the end-to-end reliability tests (issue #5): tiny datasets, reading a run's outputs,
 * checksumming a directory, and predicting the simulator's faults from its seed.
 */
import {createHash} from 'node:crypto'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type {RequestRecord} from '../../src/record/record.js'
import {drawFaults, type FaultPlan, type FaultRates} from '../../src/sim/faults.js'
import {createRng} from '../../src/prng.js'

/** A fresh directory under the OS temp dir, and a function that removes it. */
export async function tempDir(prefix: string): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `dual-bench-rel-${prefix}-`))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

/** Writes `n` distinct short chat samples as JSONL and returns the file path. */
export async function writeDataset(dir: string, n: number, name = 'dataset.jsonl'): Promise<string> {
  const file = path.join(dir, name)
  const lines = Array.from({length: n}, (_, i) =>
    JSON.stringify({id: `s${i}`, messages: [{role: 'user', content: `Sample ${i}: explain in one line why prefix caching helps request ${i}.`}]}),
  )
  await writeFile(file, lines.join('\n') + '\n')
  return file
}

/** Every record of DIR/requests.jsonl, in file order. */
export async function readRecords(dir: string): Promise<RequestRecord[]> {
  const text = await readFile(path.join(dir, 'requests.jsonl'), 'utf8')
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RequestRecord)
}

/** The parsed concurrency_<C>_round_<R>.json. */
export async function readRound(dir: string, concurrency: number, round: number): Promise<any> {
  return JSON.parse(await readFile(path.join(dir, `concurrency_${concurrency}_round_${round}.json`), 'utf8'))
}

export async function readRunJson(dir: string): Promise<any> {
  return JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8'))
}

/** Failure counts by category, e.g. {http_5xx: 3}. */
export function countFailures(records: RequestRecord[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of records) if (!r.ok) out[r.error?.category ?? 'none'] = (out[r.error?.category ?? 'none'] ?? 0) + 1
  return out
}

/** `summary.failures` of a round JSON reduced to counts, e.g. {http_5xx: 3}. */
export function summaryFailureCounts(round: any): Record<string, number> {
  return Object.fromEntries(Object.entries(round.summary.failures as Record<string, {count: number}>).map(([k, v]) => [k, v.count]))
}

/** `level/round/index` of a record: the identity a resumed run must not measure twice. */
export const keyOf = (r: {level: number; round: number; index: number}) => `${r.level}/${r.round}/${r.index}`

/** Every regular file under `dir` (recursive), relative path → SHA-256 of its bytes. */
export async function checksums(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (d: string) => {
    for (const entry of await readdir(d, {withFileTypes: true})) {
      const full = path.join(d, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) out[path.relative(dir, full)] = createHash('sha256').update(await readFile(full)).digest('hex')
    }
  }
  await walk(dir)
  return out
}

/** Files under `dir` (recursive) whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = []
  const walk = async (d: string) => {
    for (const entry of await readdir(d, {withFileTypes: true})) {
      const full = path.join(d, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile() && (await readFile(full)).includes(needle)) hits.push(path.relative(dir, full))
    }
  }
  await walk(dir)
  return hits
}

/** A TCP port on 127.0.0.1 that was free a moment ago and now has no listener (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export const NO_RATES: FaultRates = {failRate: 0, dropRate: 0, garbageRate: 0, slowRate: 0, errorEventRate: 0}

/**
 * The fault plans the simulator will draw for its next `n` completion requests, in arrival order. The simulator
 * draws from one seeded PRNG per request as it arrives (src/sim/faults.ts: five draws per request whatever
 * the outcome), so plan k belongs to the k-th completion request it receives.
 */
export function plannedFaults(seed: number, rates: FaultRates, n: number): FaultPlan[] {
  const rand = createRng(seed)
  return Array.from({length: n}, () => drawFaults(rand, rates))
}

/** True when a plan injects nothing. */
export const isClean = (p: FaultPlan) => !p.fail && !p.drop && !p.garbage && !p.slow && !p.errorEvent

/**
 * The smallest seed whose first request (the run's unmeasured preflight, which every run sends alone before
 * the clock starts) draws no fault, and whose next `n` plans satisfy `accept`. A faulted preflight would
 * end the run with exit 2 before anything is measured, so the fault tests need a clean one.
 */
export function findSeed(rates: FaultRates, n: number, accept: (measured: FaultPlan[]) => boolean): number {
  for (let seed = 1; seed < 100_000; seed++) {
    const plans = plannedFaults(seed, rates, n + 1)
    if (isClean(plans[0]) && accept(plans.slice(1))) return seed
  }
  throw new Error('no seed satisfies the condition; loosen it')
}

/** Lines of `text` that look like a JavaScript stack frame. */
export const stackLines = (text: string) => text.split('\n').filter((l) => /^\s+at \S/.test(l))
