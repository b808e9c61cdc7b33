/**
 * I/O: `loadDataset` — reads a dataset file into normalised samples.
 *
 * Selection:
 * - without `shuffle`: the first `numSamples` valid samples in file order; reading stops as soon as
 *   they are found, so only that prefix of the file is read.
 * - with `shuffle`: the whole file is read once and a uniform random subset of `numSamples` valid
 *   samples is kept by reservoir sampling (Algorithm R, memory O(numSamples)); the kept samples are
 *   then put in random order by a Fisher–Yates shuffle. Both use one mulberry32 PRNG seeded with
 *   `seed` (default 0), so the same file + seed + numSamples always gives the same samples in the
 *   same order. Without `numSamples`, shuffle returns every sample in random order.
 */
import {basename} from 'node:path'
import {inputError} from '../errors.js'
import {normalizeRecord} from './normalize.js'
import {createRng, Reservoir, shuffleInPlace} from '../prng.js'
import {duplicatePromptWarning, shortfallWarning, type LineSample} from './load-warnings.js'
import {readRecords, type DatasetFormat, type ReadInfo} from './read-records.js'
import type {Sample} from './sample.js'

/** Options of `loadDataset`. */
export interface LoadOptions {
  /** Keep at most this many valid samples (default: all). */
  numSamples?: number
  /** Skip records that fail to parse or normalise instead of stopping with an error. */
  skipInvalid?: boolean
  /** Pick a seeded random subset (reads the whole file) instead of the first N. */
  shuffle?: boolean
  /** PRNG seed for `shuffle` (default 0). */
  seed?: number
}

/** Result of `loadDataset`. */
export interface LoadResult {
  samples: Sample[]
  /** Records skipped as invalid (only non-zero with `skipInvalid`). */
  skipped: number
  format: DatasetFormat
  /** The first few skip reasons as `file:line: reason`, for a warning line. */
  skippedExamples: string[]
  /** Seed actually used when `shuffle` was set. */
  seed?: number
  /**
   * Problems that do not stop the run, one line each, for the run to print: fewer samples than `numSamples`,
   * identical prompts under different ids (warm already in round 1).
   */
  warnings: string[]
}

/** Default shuffle seed, so an unseeded shuffle is still reproducible. */
export const DEFAULT_SEED = 0

const MAX_SKIP_EXAMPLES = 5

/**
 * Loads, validates and normalises samples from a JSON array, `{"data": [...]}` or JSONL file.
 * Every problem is a DualBenchError (exit 2) whose message starts with `file:line:`.
 */
export async function loadDataset(path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const {numSamples, skipInvalid = false, shuffle = false} = opts
  if (numSamples !== undefined && (!Number.isInteger(numSamples) || numSamples < 1)) {
    throw inputError(`--num-samples must be a positive integer, got ${numSamples}`)
  }
  const seed = opts.seed ?? DEFAULT_SEED
  const limit = numSamples ?? Infinity
  const rng = createRng(seed)
  const reservoir = new Reservoir<LineSample>(limit, rng)
  const picked: LineSample[] = []
  const info: ReadInfo = {}
  const skippedExamples: string[] = []
  let skipped = 0
  let records = 0

  for await (const rec of readRecords(path, info)) {
    records++
    let reason: string | undefined
    let sample: Sample | undefined
    if (rec.kind === 'error') {
      reason = rec.message
    } else {
      const r = normalizeRecord(rec.value, `item-${rec.index + 1}`)
      if (r.ok) sample = r.sample
      else reason = r.error
    }
    if (reason !== undefined || !sample) {
      const where = `${path}:${rec.line}: ${reason}`
      if (!skipInvalid) throw inputError(`${where} — fix this record, or pass --skip-invalid to skip bad records`)
      skipped++
      if (skippedExamples.length < MAX_SKIP_EXAMPLES) skippedExamples.push(where)
      continue
    }
    if (shuffle) {
      reservoir.offer({sample, line: rec.line})
    } else {
      picked.push({sample, line: rec.line})
      if (picked.length >= limit) break
    }
  }

  const chosen = shuffle ? shuffleInPlace(reservoir.items, rng) : picked
  if (chosen.length === 0) {
    const name = basename(path)
    if (records === 0) throw inputError(`${path}: no samples found — ${name} contains no records`)
    throw inputError(`${path}: no valid samples — all ${skipped} records were invalid (first: ${skippedExamples[0] ?? 'n/a'})`)
  }
  assertUniqueIds(path, chosen)
  const warnings = [shortfallWarning(path, numSamples, chosen.length, skipped), duplicatePromptWarning(path, chosen)].filter(
    (w): w is string => w !== undefined,
  )
  const result: LoadResult = {samples: chosen.map((p) => p.sample), skipped, format: info.format ?? 'json', skippedExamples, warnings}
  if (shuffle) result.seed = seed
  return result
}

/** Duplicate ids would merge two samples' round-1/round-2 comparisons, so they are an error. */
function assertUniqueIds(path: string, picked: LineSample[]): void {
  const seen = new Map<string, number>()
  for (const p of [...picked].sort((a, b) => a.line - b.line)) {
    const first = seen.get(p.sample.id)
    if (first !== undefined) {
      throw inputError(`${path}:${p.line}: duplicate id ${JSON.stringify(p.sample.id)} (first used on line ${first}) — give every sample a unique "id"`)
    }
    seen.set(p.sample.id, p.line)
  }
}
