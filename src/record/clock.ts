import {performance} from 'node:perf_hooks'

/**
 * Epoch milliseconds with sub-millisecond precision from the monotonic clock. Using timeOrigin + now()
 * (rather than Date.now()) keeps it monotonic within a thread and comparable across worker threads.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}
