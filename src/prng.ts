/**
 * Seeded pseudo-random numbers for reproducible sample selection and synthetic text.
 *
 * Hand-written on purpose: no seeded PRNG library is installed, and mulberry32 is a well-known 32-bit
 * generator small enough to review at a glance. It is not cryptographic; it only has to be stable across
 * runs and Node versions (it uses integer ops only, so it is).
 */

/** A function returning floats uniformly in [0, 1). */
export type Rng = () => number

/** mulberry32 seeded with the low 32 bits of `seed` (non-integers are truncated). */
export function createRng(seed: number): Rng {
  let a = Math.trunc(seed) >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n)
}

/** In-place seeded Fisher–Yates shuffle; returns the same array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1)
    const tmp = items[i]!
    items[i] = items[j]!
    items[j] = tmp
  }
  return items
}

/**
 * Reservoir sampling (Vitter's Algorithm R): keeps a uniform random subset of size `k` of a stream of
 * unknown length while holding only `k` items. `k = Infinity` keeps everything.
 */
export class Reservoir<T> {
  readonly items: T[] = []
  private seen = 0

  constructor(
    private readonly k: number,
    private readonly rng: Rng,
  ) {}

  offer(item: T): void {
    if (this.items.length < this.k) {
      this.items.push(item)
    } else {
      const j = randomInt(this.rng, this.seen + 1)
      if (j < this.k) this.items[j] = item
    }
    this.seen++
  }
}
