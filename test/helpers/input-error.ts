import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {DualBenchError} from '../../src/errors.js'

/** Runs `fn`, expecting a DualBenchError with exit 2 (bad input); returns its message. */
export async function inputErrorOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(DualBenchError)
    expect((err as DualBenchError).exit).toBe(2)
    return (err as Error).message
  }
  throw new Error('expected an error')
}

/** Writes `content` to `dir/name` and returns the path. */
export async function writeFileIn(dir: string, name: string, content: string | Buffer): Promise<string> {
  const p = join(dir, name)
  await writeFile(p, content)
  return p
}
