/** Loads the exposition fixtures (hand-written from each server's metric definitions; see presets.ts). */
import {readFileSync} from 'node:fs'

import {parseExposition, type Exposition} from '../../src/metrics/parse.js'

export type FixtureName = 'vllm' | 'vllm-openmetrics' | 'sglang' | 'lmcache' | 'llamacpp'

export function fixtureText(name: FixtureName): string {
  return readFileSync(new URL(`./fixtures/${name}.txt`, import.meta.url), 'utf8')
}

export function fixture(name: FixtureName): Exposition {
  return parsed(fixtureText(name))
}

/** Parses text that must be valid. */
export function parsed(text: string): Exposition {
  const result = parseExposition(text)
  if (!result.ok) throw new Error(`fixture did not parse: ${result.error}`)
  return result.exposition
}
