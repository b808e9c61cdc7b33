import {monitorEventLoopDelay} from 'node:perf_hooks'

/**
 * Event-loop health of one round. A callback that blocks the loop for d ms delays every socket read queued behind
 * it by up to d ms, and that delay lands in the TTFT and chunk gaps this tool reports as the server's. So each
 * round records how late the loop ran (perf_hooks.monitorEventLoopDelay, libuv's own timer: no JS runs per sample).
 */
export interface EventLoopStats {
  /** Delay beyond the sampling interval, in ms: how long a ready socket could wait before its callback ran. */
  p50_ms: number
  p99_ms: number
  max_ms: number
  mean_ms: number
  /** Samples taken (one per RESOLUTION_MS while the loop was free to run them). */
  samples: number
  resolution_ms: number
}

/** Sampling interval. 1 ms is the finest libuv timers allow; the sampler is native, so its cost is negligible. */
export const EVENT_LOOP_RESOLUTION_MS = 1

/**
 * A round whose loop delay p99 exceeds this is reported with a warning: beyond it, the delay is no longer small next to
 * the millisecond-level TTFT differences a warm cache makes (and well above the client's own TTFT error when healthy).
 */
export const EVENT_LOOP_WARN_P99_MS = 5

/** Starts sampling; `stop()` ends it and returns the stats. Node's histogram includes the interval itself, which is subtracted. */
export function startEventLoopMonitor(resolutionMs = EVENT_LOOP_RESOLUTION_MS): {stop(): EventLoopStats} {
  const h = monitorEventLoopDelay({resolution: resolutionMs})
  h.enable()
  return {
    stop() {
      h.disable()
      const late = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? Math.max(0, ns / 1e6 - resolutionMs) : 0)
      return {
        p50_ms: late(h.percentile(50)),
        p99_ms: late(h.percentile(99)),
        max_ms: late(h.max),
        mean_ms: late(h.mean),
        samples: h.count,
        resolution_ms: resolutionMs,
      }
    },
  }
}

/** Pure: the warning for an unhealthy round, or undefined. */
export function eventLoopWarning(concurrency: number, round: number, stats: EventLoopStats, thresholdMs = EVENT_LOOP_WARN_P99_MS): string | undefined {
  if (stats.p99_ms <= thresholdMs) return undefined
  return (
    `Concurrency ${concurrency} round ${round}: the client's event loop was late by ${stats.p99_ms.toFixed(1)} ms at p99 (max ${stats.max_ms.toFixed(1)} ms), ` +
    `above ${thresholdMs} ms: TTFT and chunk gaps may be overstated by about that much. The client is overloaded: lower the concurrency or use a faster machine.`
  )
}
