/**
 * Pure: warnings about a loaded selection that is usable but probably not what the user meant. They do not stop
 * the run; `loadDataset` returns them in `LoadResult.warnings` for the run to print.
 */
import type {ChatMessage, Sample} from './sample.js'

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
  // Typed arrays of a number hashed from each prompt, sorted, rather than a Map keyed by prompt text or digest: at
  // 100 000 samples such a Map raised the run's peak RSS from ≈ 190 to ≈ 260 MB (the heap grows to a multiple of
  // what is alive while it does). Equal keys are confirmed by comparing messages: a collision is never a "copy".
  const keys = new Float64Array(picked.length)
  for (let i = 0; i < picked.length; i++) keys[i] = promptKey(picked[i]!.sample.messages)
  const byKey = Uint32Array.from(picked.keys()).sort((a, b) => keys[a]! - keys[b]! || picked[a]!.line - picked[b]!.line)
  const copyOf: [copy: number, first: number][] = []
  for (let run = 0; run < byKey.length; ) {
    const first = byKey[run]!
    let next = run + 1
    for (; next < byKey.length && keys[byKey[next]!] === keys[first]; next++) {
      const copy = byKey[next]!
      if (sameMessages(picked[first]!.sample.messages, picked[copy]!.sample.messages)) copyOf.push([copy, first])
    }
    run = next
  }
  const copies = copyOf.length
  const examples = copyOf
    .sort(([a], [b]) => picked[a]!.line - picked[b]!.line)
    .slice(0, MAX_EXAMPLES)
    .map(([c, f]) => `id ${JSON.stringify(picked[c]!.sample.id)} on line ${picked[c]!.line} = id ${JSON.stringify(picked[f]!.sample.id)} on line ${picked[f]!.line}`)
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

/** 53 bits of two FNV-1a hashes over every role and content (a JS number holds them exactly). Allocates nothing. */
function promptKey(messages: readonly ChatMessage[]): number {
  const h = {a: 0x811c9dc5, b: 0x01000193}
  for (const m of messages) {
    mix(h, m.role)
    mix(h, m.content)
  }
  return (h.a >>> 0) * 0x200000 + (h.b >>> 11)
}

function mix(h: {a: number; b: number}, text: string): void {
  let {a, b} = h
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x5bd1e995)
  }
  // A separator, so ["ab", "c"] and ["a", "bc"] differ.
  h.a = Math.imul(a ^ 0xffff, 0x01000193)
  h.b = Math.imul(b ^ 0xffff, 0x5bd1e995)
}

function sameMessages(x: readonly ChatMessage[], y: readonly ChatMessage[]): boolean {
  return x.length === y.length && x.every((m, i) => m.role === y[i]!.role && m.content === y[i]!.content)
}
