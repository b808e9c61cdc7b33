import yaml from 'js-yaml'
import {inputError} from '../errors.js'

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
const TOP_LEVEL_KEYS = ['slo']

/** 1-based line of the first `key:` in the text, so errors can point at it (js-yaml keeps no positions for values). */
function lineOf(text: string, key: string): number | undefined {
  const re = new RegExp(`^\\s*["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`)
  const lines = text.split(/\r?\n/)
  const i = lines.findIndex((l) => re.test(l))
  return i === -1 ? undefined : i + 1
}

/** Parse and validate SLO YAML. Pure: `file` is only used in messages. Throws inputError (exit 2) naming file:line. */
export function parseSlo(text: string, file: string): Slo {
  let doc: unknown
  try {
    doc = yaml.load(text, {filename: file})
  } catch (error) {
    const e = error as {mark?: {line: number}; reason?: string; message: string}
    const where = e.mark ? `${file}:${e.mark.line + 1}` : file
    throw inputError(`${where}: invalid YAML (${e.reason ?? e.message})`, 'Fix the YAML syntax; see slo.yaml in the project for an example.')
  }
  const example = 'Expected e.g.\n  slo:\n    ttft_ms: 1000\n    itl_ms: 50\n    latency_ms: 10000'
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw inputError(`${file}: an SLO file must be a YAML map with an \`slo:\` key`, example)
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      const line = lineOf(text, key)
      throw inputError(`${file}${line ? `:${line}` : ''}: unknown key "${key}" (allowed: ${TOP_LEVEL_KEYS.join(', ')})`, example)
    }
  }
  const map = (doc as Record<string, unknown>).slo
  if (map === undefined || map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw inputError(`${file}: missing \`slo:\` map`, example)
  }
  const slo: Slo = {}
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
    const target = KEY_ALIASES[key]
    const line = lineOf(text, key)
    const where = `${file}${line ? `:${line}` : ''}`
    if (!target) {
      throw inputError(`${where}: unknown SLO key "${key}" (allowed: ${Object.keys(KEY_ALIASES).join(', ')})`, example)
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw inputError(`${where}: SLO "${key}" must be a positive number of milliseconds, got ${JSON.stringify(value)}`, example)
    }
    if (slo[target] !== undefined) {
      throw inputError(`${where}: "${key}" sets ${target} a second time (aliases: tpot_ms = itl_ms, e2el_ms = latency_ms)`)
    }
    slo[target] = value
  }
  if (Object.keys(slo).length === 0) throw inputError(`${file}: the \`slo:\` map is empty`, example)
  return slo
}
