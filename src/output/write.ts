import {once} from 'node:events'
import {createWriteStream, type WriteStream} from 'node:fs'
import {mkdir, readdir, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {inputError} from '../errors.js'

/**
 * The only module that writes files. Summaries are written atomically (temp file + rename) so an interrupted
 * run never leaves a half-written JSON or CSV behind.
 */

/** Creates the output directory; refuses a non-empty one unless the caller allows it. */
export async function prepareOutputDir(dir: string, opts: {allowExisting: boolean}): Promise<void> {
  let entries: string[] = []
  try {
    entries = await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw inputError(`--output-dir ${dir}: cannot read it (${(error as Error).message})`)
    }
  }
  if (entries.length > 0 && !opts.allowExisting) {
    throw inputError(
      `--output-dir ${dir} already exists and is not empty; refusing to overwrite earlier results`,
      'Choose another --output-dir, pass --force to overwrite, or --resume DIR to continue that run.',
    )
  }
  try {
    await mkdir(dir, {recursive: true})
  } catch (error) {
    throw inputError(`--output-dir ${dir}: cannot create it (${(error as Error).message})`)
  }
}

/** Files `dual-bench run` writes into its output directory (and nothing else). */
const RUN_FILE = /^(run\.json|requests\.jsonl|metrics_summary\.csv|overall_summary\.json|report\.html|report\.md|concurrency_\d+_round_\d+\.json|requests_c\d+_r\d+\.csv)$/

/**
 * --force: removes an earlier run's files from `dir`, so the new run's requests.jsonl is not appended to the
 * old one and no stale round file is mixed into the new run's report. Other files are left alone.
 */
export async function clearRunFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) if (RUN_FILE.test(name)) await rm(path.join(dir, name), {force: true})
}

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  await writeFile(tmp, content)
  await rename(tmp, file)
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n')
}

/** Appends one JSON line per record as it finishes (requests.jsonl), so a crash loses nothing already measured. */
export class JsonlAppender {
  private readonly stream: WriteStream

  constructor(file: string) {
    this.stream = createWriteStream(file, {flags: 'a'})
  }

  write(value: unknown): void {
    this.stream.write(JSON.stringify(value) + '\n')
  }

  async close(): Promise<void> {
    this.stream.end()
    await once(this.stream, 'close')
  }
}
