import {once} from 'node:events'
import {createWriteStream, type WriteStream} from 'node:fs'
import {mkdir, readdir, rename, writeFile} from 'node:fs/promises'
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
