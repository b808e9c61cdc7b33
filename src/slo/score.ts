import {itlMs, latencyMs, ttftMs} from '../record/derive.js'
import type {RequestRecord} from '../record/record.js'
import type {Slo} from './slo.js'

export interface SloVerdict {
  met: boolean
  /** Human-readable violations, e.g. "ttft_ms 612.3 ≥ 500". */
  violations: string[]
}

/**
 * A request meets the SLO when it succeeded and every given bound holds strictly (value < bound), as the seed's
 * rule says. A bound on a quantity the request does not have (ITL with fewer than two output tokens, TTFT without
 * streaming) is not checked for that request.
 */
export function scoreRecord(record: RequestRecord, slo: Slo): SloVerdict {
  if (!record.ok) return {met: false, violations: ['failed']}
  const violations: string[] = []
  const check = (name: keyof Slo, value: number | undefined) => {
    const bound = slo[name]
    if (bound === undefined || value === undefined) return
    if (!(value < bound)) violations.push(`${name} ${value.toFixed(1)} ≥ ${bound}`)
  }
  check('ttft_ms', ttftMs(record))
  check('itl_ms', itlMs(record))
  check('latency_ms', latencyMs(record))
  return {met: violations.length === 0, violations}
}
