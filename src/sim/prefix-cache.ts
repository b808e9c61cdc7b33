import {createHash} from 'node:crypto'

/**
 * Chained block hashes of a token sequence, like vLLM's: block i's hash covers block i-1's hash plus block
 * i's tokens, so equal hashes mean equal *prefixes*, not merely equal blocks. Only full blocks are hashed
 * (a partial tail block is never cached). Pure.
 */
export function blockHashes(tokens: readonly string[], blockSize: number): string[] {
  const out: string[] = []
  let prev = ''
  for (let start = 0; start + blockSize <= tokens.length; start += blockSize) {
    const h = createHash('sha1')
    h.update(prev)
    // \u0000 cannot occur inside a token, so the join is unambiguous.
    for (let i = start; i < start + blockSize; i++) h.update('\u0000' + tokens[i])
    prev = h.digest('base64')
    out.push(prev)
  }
  return out
}

/**
 * An LRU set of block hashes standing in for the KV cache. A Map keeps insertion order, so "touch" is
 * delete + set and the least recently used entry is the first key.
 */
export class PrefixCache {
  private readonly blocks = new Map<string, true>()

  constructor(readonly capacity: number) {}

  /** Number of leading blocks of `hashes` that are cached; touches them so a hit refreshes their age. */
  match(hashes: readonly string[]): number {
    let n = 0
    while (n < hashes.length && this.blocks.has(hashes[n])) n++
    for (let i = 0; i < n; i++) this.touch(hashes[i])
    return n
  }

  /** Inserts (or refreshes) every block, evicting the least recently used beyond capacity. */
  insert(hashes: readonly string[]): void {
    if (this.capacity === 0) return
    for (const h of hashes) this.touch(h)
    while (this.blocks.size > this.capacity) {
      const oldest = this.blocks.keys().next().value as string
      this.blocks.delete(oldest)
    }
  }

  has(hash: string): boolean {
    return this.blocks.has(hash)
  }

  clear(): void {
    this.blocks.clear()
  }

  /** Blocks currently held. */
  get size(): number {
    return this.blocks.size
  }

  /** Fill ratio 0..1 (0 for a zero-capacity cache). */
  get usage(): number {
    return this.capacity === 0 ? 0 : this.blocks.size / this.capacity
  }

  private touch(hash: string): void {
    this.blocks.delete(hash)
    this.blocks.set(hash, true)
  }
}

/**
 * Tokens a request can take from the cache: the leading cached full blocks, but never the prompt's last
 * token, because the server must compute it to produce the first output token (vLLM caps hits at
 * prompt_len − 1 the same way). Pure.
 */
export function cacheableHashes(hashes: readonly string[], promptTokens: number, blockSize: number): readonly string[] {
  const maxBlocks = Math.floor(Math.max(0, promptTokens - 1) / blockSize)
  return hashes.length > maxBlocks ? hashes.slice(0, maxBlocks) : hashes
}
