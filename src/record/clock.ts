import {performance} from 'node:perf_hooks'

/**
 * Epoch milliseconds with sub-millisecond precision from the monotonic clock. Using timeOrigin + now()
 * (rather than Date.now()) keeps it monotonic within a thread and comparable across worker threads.
 */
export function nowMs(): number {
  return ORIGIN + performance.now()
}

/** Read once per thread (each worker has its own): the getter allocates a number on every read, per socket read here. */
const ORIGIN = performance.timeOrigin
