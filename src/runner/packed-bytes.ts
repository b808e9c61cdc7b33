/**
 * Many small byte strings in one Buffer, outside the JS heap.
 *
 * Why: V8 lets the heap grow to a few times what survived the last full collection before it collects again, so
 * every MB kept on the heap for the whole run costs several MB of peak RSS. A plan of 100 000 requests held as
 * objects (a Buffer object, a preview string and an id string per request) is ~30 MB of long-lived heap; packed,
 * it is two typed arrays. Hand-written because it is a dozen lines and no library does just this.
 */
export class PackedBytes {
  private constructor(
    private readonly data: Buffer,
    /** End offset of item i; item i starts where item i − 1 ends. */
    private readonly ends: Float64Array,
  ) {}

  /** Packs `count` items, `item(i)` called once per item in order. */
  static of(count: number, item: (i: number) => Buffer): PackedBytes {
    const ends = new Float64Array(count)
    let data = Buffer.allocUnsafeSlow(64 * 1024)
    let used = 0
    for (let i = 0; i < count; i++) {
      const bytes = item(i)
      if (used + bytes.length > data.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(2 * data.length, used + bytes.length))
        data.copy(bigger, 0, 0, used)
        data = bigger
      }
      used += bytes.copy(data, used)
      ends[i] = used
    }
    // Trimmed to size: the doubling slack would otherwise live as long as the plan.
    const exact = Buffer.allocUnsafeSlow(used)
    data.copy(exact, 0, 0, used)
    return new PackedBytes(exact, ends)
  }

  get length(): number {
    return this.ends.length
  }

  /** Item `i` as a view (no copy) of the packed bytes. */
  at(i: number): Buffer {
    return this.data.subarray(i === 0 ? 0 : this.ends[i - 1], this.ends[i])
  }
}

/**
 * Strings packed as UTF-16 code units, so any JS string (a lone surrogate included) comes back exactly; meant for
 * short strings such as sample ids and prompt previews.
 */
export class PackedStrings {
  private constructor(private readonly bytes: PackedBytes) {}

  static of(count: number, item: (i: number) => string): PackedStrings {
    return new PackedStrings(PackedBytes.of(count, (i) => Buffer.from(item(i), 'utf16le')))
  }

  at(i: number): string {
    return this.bytes.at(i).toString('utf16le')
  }
}
