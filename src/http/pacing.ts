/**
 * Client work that may bunch up — request starts, and the hand-back of finished records (whose continuation
 * in the runner writes the record and starts the next request) — runs through one queue, at most
 * PACE_SLICE_MS of it at a time before the loop polls sockets again.
 *
 * Why: at a wave boundary hundreds of streams end in the same millisecond; running every hand-back and
 * every next start in one go kept the event loop from reading sockets for 50–90 ms at 256 streams, and
 * the new requests' first tokens, written by the server 10 ms after their start, were stamped that late
 * (the bytes waited in the kernel; no stamp taken in user space can be earlier than the loop's next poll).
 * Pacing delays a start by at most a few slices; the delay is client queue time (sentAtMs is taken when
 * the request really starts), never inside TTFT. With nothing queued an item runs at once (c=1 unchanged).
 */
import {nowMs} from '../record/clock.js'

/** Longest stretch of queued work run back to back before the event loop polls sockets again. */
const PACE_SLICE_MS = 0.5

const paceQueue: (() => void)[] = []
let draining = false

/** Runs `work` now if nothing is queued and the current slice has time left, else after the next poll. */
export function paced(work: () => void): void {
  // The common case runs inline: no queue entry, no promise, no tick.
  if (!draining && paceQueue.length === 0 && sliceHasTime()) return work()
  paceQueue.push(work)
  if (!draining) void drainPaced()
}

/** After the current tick queue and every microtask chain it starts (a resolved record's whole continuation). */
const afterTicks = () => new Promise<void>((resolve) => process.nextTick(resolve))
/** After the next poll phase: sockets that became readable meanwhile are read (and stamped) first. */
const afterPoll = () => new Promise<void>((resolve) => setImmediate(resolve))

/** When the current slice began; cleared in the check phase, i.e. once the loop has polled sockets again. */
let sliceStartMs: number | undefined
const endSlice = () => {
  sliceStartMs = undefined
}

/**
 * Whether queued work may run now. The slice spans drains and inline runs: in one poll phase each socket's
 * callback may hand back a record, and those add up, so the budget is per loop iteration.
 */
function sliceHasTime(): boolean {
  const now = nowMs()
  if (sliceStartMs === undefined) {
    sliceStartMs = now
    setImmediate(endSlice)
    return true
  }
  return now - sliceStartMs < PACE_SLICE_MS
}

async function drainPaced(): Promise<void> {
  draining = true
  try {
    while (paceQueue.length > 0) {
      if (!sliceHasTime()) {
        await afterPoll()
        continue
      }
      paceQueue.shift()!()
      // What the work started (a resolved record's continuation, which writes the record and queues the next
      // start) runs, and counts against the slice, before the next item.
      await afterTicks()
    }
  } finally {
    draining = false
  }
}
