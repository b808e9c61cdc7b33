/** I/O: content hash of a dataset file for run.json, streamed so large files are not held in memory. */
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {pipeline} from 'node:stream/promises'

/** Lower-case hex SHA-256 of the file at `path` (rejects with the fs error if it cannot be read). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}
