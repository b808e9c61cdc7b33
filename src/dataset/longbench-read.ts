/**
 * I/O for `convert-longbench`: finds LongBench files (v1 JSONL, the unzipped v1 data.zip directory,
 * v2 data.json, or Hugging Face parquet files of either), reads them as a stream and yields converted
 * lines (see longbench.ts for the pure conversion). Never downloads anything.
 */
import {readdir, stat} from 'node:fs/promises'
import {basename, extname, join} from 'node:path'
import {inputError} from '../errors.js'
import {LONGBENCH_V1_DATASETS, type LongBenchV1Dataset} from './longbench-templates.js'
import {detectLongBenchKind, resolveV1Dataset, unknownDatasetMessage, v1RecordToLine, v2RecordToLine, type LongBenchLine} from './longbench.js'
import {assertReadableFile, readRecords} from './read-records.js'
import type {Tokenizer} from './tokenizer.js'
import {truncateSamples} from './truncate.js'

/** Options of `convertLongBench`. */
export interface ConvertOptions {
  /** A v1 .jsonl, a v2 data.json, a .parquet file, or a directory of v1 files. */
  input: string
  /** v1 dataset names, or ['all']; required for a directory, a filter/name for a single v1 file. */
  datasets?: string[]
  /** Samples per dataset (v2 counts as one dataset). */
  numSamples?: number
  /** Truncate each prompt in the middle to this many tokens (needs `tokenizer`). */
  maxInputLength?: number
  tokenizer?: Tokenizer
}

/** A record read from any source, with a location for error messages. */
interface Located {
  value: unknown
  where: string
}

/**
 * Parses `--dataset a,b,c` (or "all"). Unknown names are an error listing the valid ones.
 * Returns undefined for an empty flag.
 */
export function parseDatasetList(flag: string | undefined): string[] | undefined {
  if (flag === undefined || flag.trim() === '') return undefined
  const names = flag
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (names.includes('all')) return ['all']
  for (const n of names) if (!resolveV1Dataset(n)) throw inputError(`--dataset: ${unknownDatasetMessage(n)}`)
  return [...new Set(names)]
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw inputError(`${path}: --input not found — pass a LongBench .jsonl, data.json, .parquet file, or the unzipped data/ directory`)
    throw err
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

async function parquetFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile() && entry.name.endsWith('.parquet')) out.push(join(entry.parentPath, entry.name))
  }
  return out.sort()
}

/** Files holding one v1 dataset inside an unzipped data.zip (or a parquet export) directory. */
async function filesForDataset(dir: string, name: string): Promise<string[]> {
  for (const candidate of [join(dir, `${name}.jsonl`), join(dir, 'data', `${name}.jsonl`), join(dir, `${name}.parquet`)]) {
    if (await exists(candidate)) return [candidate]
  }
  const sub = join(dir, name)
  if ((await exists(sub)) && (await stat(sub)).isDirectory()) return parquetFilesUnder(sub)
  return []
}

async function* readParquet(path: string): AsyncGenerator<Located> {
  await assertReadableFile(path, 'parquet')
  const {asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects} = await import('hyparquet')
  const file = await asyncBufferFromFile(path)
  let rows: number
  try {
    rows = Number((await parquetMetadataAsync(file)).num_rows)
  } catch (err) {
    throw inputError(`${path}: not a readable parquet file (${(err as Error).message})`)
  }
  // Read in small row batches so --num-samples stops early on large files.
  const batch = 16
  for (let start = 0; start < rows; start += batch) {
    const objects = await parquetReadObjects({file, rowStart: start, rowEnd: Math.min(rows, start + batch)})
    for (const [i, value] of objects.entries()) yield {value, where: `${path} (row ${start + i + 1})`}
  }
}

async function* readAny(path: string): AsyncGenerator<Located> {
  if (extname(path).toLowerCase() === '.parquet') {
    yield* readParquet(path)
    return
  }
  for await (const rec of readRecords(path)) {
    if (rec.kind === 'error') throw inputError(`${path}:${rec.line}: ${rec.message} — is this an unmodified LongBench file?`)
    yield {value: rec.value, where: `${path}:${rec.line}`}
  }
}

/** Name a v1 file implies: "narrativeqa.jsonl" → narrativeqa, "qasper_e.jsonl" → qasper. */
function datasetFromFileName(path: string): LongBenchV1Dataset | undefined {
  return resolveV1Dataset(basename(path).replace(/\.(jsonl|json|parquet)$/i, ''))
}

/**
 * Streams converted lines. For a directory, `datasets` picks the files (`all` = every dataset present).
 * For one file, each v1 record's template comes from its own `dataset` field, else the single
 * `--dataset` name, else the file name; a `--dataset` list also filters records.
 */
export async function* convertLongBench(opts: ConvertOptions): AsyncGenerator<LongBenchLine> {
  const {input, numSamples} = opts
  if (opts.maxInputLength !== undefined && !opts.tokenizer) throw new Error('convertLongBench: maxInputLength needs a tokenizer')
  const requested = opts.datasets
  const all = requested?.[0] === 'all'
  const counts = new Map<string, number>()
  const full = (name: string) => numSamples !== undefined && (counts.get(name) ?? 0) >= numSamples

  let files: {path: string; dataset?: LongBenchV1Dataset}[]
  if (await isDirectory(input)) {
    if (!requested) {
      if (await exists(join(input, 'data.json'))) files = [{path: join(input, 'data.json')}]
      else throw inputError(`${input}: is a directory — pass --dataset with one or more of ${LONGBENCH_V1_DATASETS.join(', ')} (or "all")`)
    } else {
      files = []
      const names = all ? [...LONGBENCH_V1_DATASETS] : requested
      const missing: string[] = []
      for (const name of names) {
        const found = await filesForDataset(input, name)
        if (found.length === 0) missing.push(name)
        for (const path of found) files.push({path, dataset: resolveV1Dataset(name)!})
      }
      if (files.length === 0 || (!all && missing.length > 0)) {
        const present = (await readdir(input)).slice(0, 30).join(', ') || 'nothing'
        throw inputError(`${input}: no LongBench file for ${missing.join(', ')} (looked for <name>.jsonl, data/<name>.jsonl, <name>.parquet, <name>/**/*.parquet; directory has: ${present})`)
      }
    }
  } else {
    files = [{path: input}]
  }

  const single = requested && !all && requested.length === 1 ? resolveV1Dataset(requested[0]!) : undefined
  const wanted = requested && !all ? new Set(requested.map((n) => resolveV1Dataset(n)!)) : undefined

  for (const file of files) {
    let n = 0
    for await (const {value, where} of readAny(file.path)) {
      n++
      const rec = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>
      const kind = detectLongBenchKind(rec)
      let line: LongBenchLine | string
      if (kind === 'v2') {
        if (full('v2')) break
        line = v2RecordToLine(rec, `longbench_v2-${n}`)
        if (typeof line !== 'string') counts.set('v2', (counts.get('v2') ?? 0) + 1)
      } else if (kind === 'v1') {
        const own = typeof rec.dataset === 'string' ? resolveV1Dataset(rec.dataset) : undefined
        const dataset = file.dataset ?? own ?? single ?? datasetFromFileName(file.path)
        if (!dataset) {
          throw inputError(`${where}: cannot tell which LongBench dataset this record is from — pass --dataset <name> (${LONGBENCH_V1_DATASETS.join(', ')})`)
        }
        if (wanted && !file.dataset && !wanted.has(own ?? dataset)) continue
        if (full(dataset)) {
          // One dataset per file is the norm (narrativeqa.jsonl): stop reading once it has enough.
          // Only a mixed file (records naming other datasets) is read on.
          const oneDataset = file.dataset !== undefined || !own || own === datasetFromFileName(file.path)
          if (oneDataset || (wanted && [...wanted].every(full))) break
          continue
        }
        line = v1RecordToLine(rec, dataset, `${dataset}-${n}`)
        if (typeof line !== 'string') counts.set(dataset, (counts.get(dataset) ?? 0) + 1)
      } else {
        throw inputError(`${where}: not a LongBench record — v1 needs "context" and "input", v2 needs "context", "question" and "choice_A".."choice_D"`)
      }
      if (typeof line === 'string') throw inputError(`${where}: ${line}`)
      if (opts.maxInputLength !== undefined) {
        const [cut] = truncateSamples([{id: line.id, messages: line.messages}], opts.maxInputLength, opts.tokenizer!)
        line = {...line, messages: cut!.messages}
      }
      yield line
    }
  }
}
