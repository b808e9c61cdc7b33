import yaml from 'js-yaml'
import {inputError} from '../errors.js'
import {parseTargets, type Targets} from './targets.js'
import {lineOf} from './yaml-lines.js'

/**
 * Service-level objectives per request, in the seed's form (`slo: {ttft_ms, itl_ms, latency_ms}`, any subset).
 * vLLM's names are accepted so objectives carry over: `tpot_ms` → itl_ms, `e2el_ms` → latency_ms.
 */
export interface Slo {
  ttft_ms?: number
  itl_ms?: number
  latency_ms?: number
}

const KEY_ALIASES: Record<string, keyof Slo> = {
  ttft_ms: 'ttft_ms',
  itl_ms: 'itl_ms',
  tpot_ms: 'itl_ms',
  latency_ms: 'latency_ms',
  e2el_ms: 'latency_ms',
}

/** Top-level keys an SLO file may hold. */
const TOP_LEVEL_KEYS = ['slo', 'targets']

const EXAMPLE = 'Expected e.g.\n  slo:\n    ttft_ms: 1000\n    itl_ms: 50\n    latency_ms: 10000\n  targets:          # optional\n    p99_latency_ms: 15000'

/** Everything an SLO file may hold; at least one of the two is present. */
export interface SloFile {
  /** Per-request bounds for goodput. */
  slo?: Slo
  /** Run-level targets with PASS/FAIL (see targets.ts). */
  targets?: Targets
}

/**
 * Parse and validate an SLO file: `slo:` (per-request bounds) and/or `targets:` (run-level pass/fail bounds).
 * Pure: `file` is only used in messages. Throws inputError (exit 2) naming file:line.
 */
export function parseSloFile(text: string, file: string): SloFile {
  let doc: unknown
  try {
    doc = yaml.load(text, {filename: file})
  } catch (error) {
    const e = error as {mark?: {line: number}; reason?: string; message: string}
    const where = e.mark ? `${file}:${e.mark.line + 1}` : file
    throw inputError(`${where}: invalid YAML (${e.reason ?? e.message})`, 'Fix the YAML syntax; see slo.yaml in the project for an example.')
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw inputError(`${file}: an SLO file must be a YAML map with an \`slo:\` and/or a \`targets:\` key`, EXAMPLE)
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      const line = lineOf(text, key)
      throw inputError(`${file}${line ? `:${line}` : ''}: unknown key "${key}" (allowed: ${TOP_LEVEL_KEYS.join(', ')})`, EXAMPLE)
    }
  }
  const {slo: sloMap, targets: targetsMap} = doc as Record<string, unknown>
  if (sloMap === undefined && targetsMap === undefined) {
    throw inputError(`${file}: missing \`slo:\` map (or \`targets:\`)`, EXAMPLE)
  }
  const out: SloFile = {}
  if (sloMap !== undefined) out.slo = parseSloMap(sloMap, text, file)
  if (targetsMap !== undefined) out.targets = parseTargets(targetsMap, text, file, out.slo !== undefined)
  return out
}

/**
 * The `slo:` map of an SLO file (the original entry point, kept for callers that only need goodput).
 * A file with `targets:` is accepted; its targets are validated but not returned — use {@link parseSloFile}.
 */
export function parseSlo(text: string, file: string): Slo {
  const parsed = parseSloFile(text, file)
  if (!parsed.slo) throw inputError(`${file}: missing \`slo:\` map`, EXAMPLE)
  return parsed.slo
}

function parseSloMap(map: unknown, text: string, file: string): Slo {
  const sloLine = lineOf(text, 'slo')
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw inputError(`${file}${sloLine ? `:${sloLine}` : ''}: \`slo:\` must be a map of bound: milliseconds`, EXAMPLE)
  }
  const slo: Slo = {}
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
    const target = KEY_ALIASES[key]
    const line = lineOf(text, key, sloLine)
    const where = `${file}${line ? `:${line}` : ''}`
    if (!target) {
      throw inputError(`${where}: unknown SLO key "${key}" (allowed: ${Object.keys(KEY_ALIASES).join(', ')})`, EXAMPLE)
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw inputError(`${where}: SLO "${key}" must be a positive number of milliseconds, got ${JSON.stringify(value)}`, EXAMPLE)
    }
    if (slo[target] !== undefined) {
      throw inputError(`${where}: "${key}" sets ${target} a second time (aliases: tpot_ms = itl_ms, e2el_ms = latency_ms)`)
    }
    slo[target] = value
  }
  if (Object.keys(slo).length === 0) throw inputError(`${file}${sloLine ? `:${sloLine}` : ''}: the \`slo:\` map is empty`, EXAMPLE)
  return slo
}

/**
 * Pure: a warning when the run cannot measure some of the SLO's bounds, else undefined. Without streaming no first
 * token is seen, so a request has no TTFT and no ITL and `scoreRecord` skips those bounds: goodput would judge
 * requests on latency alone (or on nothing, 100 % met) while the file reads as if TTFT had been checked.
 */
export function unmeasuredBoundsWarning(slo: Slo, run: {stream: boolean; file: string}): string | undefined {
  if (run.stream) return undefined
  const unmeasured = (['ttft_ms', 'itl_ms'] as const).filter((k) => slo[k] !== undefined)
  if (unmeasured.length === 0) return undefined
  const judged = slo.latency_ms === undefined ? 'no bound is checked: every successful request counts as met' : 'requests are judged on latency_ms only'
  return `--slo-file ${run.file}: ${unmeasured.join(' and ')} cannot be measured with --no-stream (no first token is seen); ${judged}. Drop --no-stream to check them.`
}
