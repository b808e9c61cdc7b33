/** Probabilities (0..1) of each injected fault. */
export interface FaultRates {
  failRate: number
  dropRate: number
  garbageRate: number
  slowRate: number
  errorEventRate: number
}

/** Which faults one request gets. `fail` excludes the rest; at most one of drop/garbage/errorEvent applies. */
export interface FaultPlan {
  fail: boolean
  drop: boolean
  garbage: boolean
  slow: boolean
  errorEvent: boolean
}

export const NO_FAULTS: FaultPlan = Object.freeze({fail: false, drop: false, garbage: false, slow: false, errorEvent: false})

/**
 * Draws a request's faults. Always exactly five draws in a fixed order (fail, drop, garbage, slow,
 * errorEvent) whatever the outcome, so the sequence for request k depends only on the seed and k.
 * Precedence when several hit: fail > drop > garbage > errorEvent; slow combines with the stream faults. Pure
 * apart from advancing `rand`.
 */
export function drawFaults(rand: () => number, rates: FaultRates): FaultPlan {
  const fail = rand() < rates.failRate
  const drop = rand() < rates.dropRate
  const garbage = rand() < rates.garbageRate
  const slow = rand() < rates.slowRate
  const errorEvent = rand() < rates.errorEventRate
  if (fail) return {...NO_FAULTS, fail: true}
  return {fail: false, drop, garbage: garbage && !drop, slow, errorEvent: errorEvent && !drop && !garbage}
}
