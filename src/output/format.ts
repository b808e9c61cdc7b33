/** Number formatting shared by the CSV, JSON and terminal renderers. */

/** Round for files: keeps sub-millisecond precision without float noise. Null stays null. */
export function round3(x: number | null | undefined): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null
  return Math.round(x * 1000) / 1000
}

/** Fixed decimals for humans; "-" for a missing value. */
export function fixed(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-'
  return x.toFixed(digits)
}
