import {open, type FileHandle} from 'node:fs/promises'
import type {LineLocation} from './write.js'

/** Bytes read per block: many neighbouring lines per read, few reads per round. */
const BLOCK_BYTES = 1 << 20

/**
 * Reads lines of a file by location (as {@link JsonlAppender.write} returned them), in any order, through one
 * block cache. Lines asked for in plan order were written in completion order, which is plan order shuffled
 * within about one concurrency's worth of lines; so a block starts a quarter block *before* the line that missed,
 * and the next lines, slightly earlier or later in the file, are mostly already in it.
 *
 * Hand-written: node:readline and the like only read forward, and one positioned read per line would be ~100 000
 * thread-pool round trips per round.
 */
export class LineReader {
  private buffer = Buffer.alloc(BLOCK_BYTES)
  private blockStart = 0
  private blockLength = 0

  private constructor(private readonly handle: FileHandle) {}

  static async open(file: string): Promise<LineReader> {
    return new LineReader(await open(file, 'r'))
  }

  async read(at: LineLocation): Promise<string> {
    const inBlock = at.offset >= this.blockStart && at.offset + at.length <= this.blockStart + this.blockLength
    if (!inBlock) {
      const start = Math.max(0, at.offset - BLOCK_BYTES / 4)
      const size = Math.max(BLOCK_BYTES, at.offset + at.length - start)
      if (this.buffer.length < size) this.buffer = Buffer.alloc(size)
      const {bytesRead} = await this.handle.read(this.buffer, 0, size, start)
      this.blockStart = start
      this.blockLength = bytesRead
      if (at.offset + at.length > start + bytesRead) {
        throw new Error(`line at byte ${at.offset} (${at.length} bytes) is past the end of the file`)
      }
    }
    const from = at.offset - this.blockStart
    return this.buffer.toString('utf8', from, from + at.length)
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}
