import {performance} from 'node:perf_hooks'

/** A scheduled callback; call `cancel()` to drop it (cheap: the heap entry is skipped lazily). */
export interface Timer {
  cancel(): void
}

interface Entry {
  due: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/** Callbacks due within this much of now run in the current tick instead of re-arming a sub-ms timer. */
const EARLY_MS = 0.5

/**
 * One shared timer for every stream: callbacks sit in a binary min-heap by due time (performance.now()
 * ms) and a single setTimeout is armed for the earliest. Thousands of concurrent streams then cost one
 * libuv timer plus O(log n) per token, and streams scheduled on absolute due times do not drift.
 * Hand-written because a heap is ~40 lines and no installed dependency provides one.
 */
export class Scheduler {
  private heap: Entry[] = []
  private seq = 0
  private timer: NodeJS.Timeout | undefined
  private armedFor = Infinity

  /** Runs `fn` at `due` (performance.now() milliseconds) or as soon as possible after. */
  at(due: number, fn: () => void): Timer {
    const entry: Entry = {due, seq: this.seq++, fn, cancelled: false}
    this.push(entry)
    if (due < this.armedFor) this.arm()
    return {cancel: () => {
      entry.cancelled = true
    }}
  }

  /** Runs `fn` after `delayMs`. */
  after(delayMs: number, fn: () => void): Timer {
    return this.at(performance.now() + delayMs, fn)
  }

  /** Drops everything and disarms the timer. */
  clear(): void {
    for (const e of this.heap) e.cancelled = true
    this.heap = []
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.armedFor = Infinity
  }

  /** Live (not cancelled) entries; for tests. */
  get pending(): number {
    return this.heap.filter((e) => !e.cancelled).length
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.armedFor = Infinity
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop()
    if (this.heap.length === 0) return
    const due = this.heap[0].due
    this.armedFor = due
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()))
  }

  private tick(): void {
    this.timer = undefined
    this.armedFor = Infinity
    const horizon = performance.now() + EARLY_MS
    while (this.heap.length > 0 && this.heap[0].due <= horizon) {
      const e = this.pop()
      if (e.cancelled) continue
      e.cancelled = true
      e.fn()
    }
    this.arm()
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq)
  }

  private push(e: Entry): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i], h[p])) break
      ;[h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  private pop(): Entry {
    const h = this.heap
    const top = h[0]
    const last = h.pop() as Entry
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l], h[m])) m = l
        if (r < h.length && this.less(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    return top
  }
}
