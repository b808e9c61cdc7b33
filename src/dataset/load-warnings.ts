/**
 * Pure: warnings about a loaded selection that is usable but probably not what the user meant. They do not stop
 * the run; `loadDataset` returns them in `LoadResult.warnings` for the run to print.
 */
import {createHash} from 'node:crypto'
import type {Sample} from './sample.js'

/** A chosen sample and the line of the file it came from. */
export interface LineSample {
  sample: Sample
  line: number
}

const MAX_EXAMPLES = 3

/**
 * Samples whose messages are byte-identical to an earlier sample's under another id. The server has the copy's
 * prompt cached already in round 1, so its "cold" request is warm and the cold/warm comparison is skewed.
 * `picked` may be in any order; examples are reported in file order.
 */
export function duplicatePromptWarning(path: string, picked: readonly LineSample[]): string | undefined {
  // A digest instead of the prompt text as the key: a large dataset's prompts are not kept twice in memory.
  const firstByPrompt = new Map<string, LineSample>()
  const examples: string[] = []
  let copies = 0
  for (const p of [...picked].sort((a, b) => a.line - b.line)) {
    const key = createHash('sha256').update(JSON.stringify(p.sample.messages)).digest('base64')
    const first = firstByPrompt.get(key)
    if (first === undefined) {
      firstByPrompt.set(key, p)
      continue
    }
    copies++
    if (examples.length < MAX_EXAMPLES) {
      examples.push(`id ${JSON.stringify(p.sample.id)} on line ${p.line} = id ${JSON.stringify(first.sample.id)} on line ${first.line}`)
    }
  }
  if (copies === 0) return undefined
  return (
    `${path}: ${copies} sample(s) have the same prompt as an earlier sample under another id (${examples.join('; ')}${copies > examples.length ? '; …' : ''}) ` +
    `— their round-1 request hits the cache and is not cold, which skews the cold/warm comparison; remove the duplicates from the dataset`
  )
}

/** `--num-samples` asked for more samples than the file holds: the run uses what there is. */
export function shortfallWarning(path: string, numSamples: number | undefined, found: number, skipped: number): string | undefined {
  if (numSamples === undefined || found >= numSamples) return undefined
  const invalid = skipped > 0 ? ` (${skipped} invalid record(s) skipped)` : ''
  return `--num-samples ${numSamples}: asked for ${numSamples} samples, ${path} has ${found} valid sample(s)${invalid} — running with ${found}`
}
