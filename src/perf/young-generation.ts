import v8 from 'node:v8'
import vm from 'node:vm'

/**
 * Empties V8's young generation before a round's clock starts. A young-generation collection copies every object
 * that is still alive, and its pause (the event loop stops) stamps the socket reads queued meanwhile late. Objects
 * made before the round (the plan, the connections, the warm-up's leftovers) are alive for the whole round, so the
 * round's first two collections used to copy them again: 3–4 ms pauses, where later ones take 1.3–1.9 ms, and one
 * that fell as a wave's first tokens arrived made a few hundred TTFTs 2–4 ms long (256 streams). Two collections
 * here move those objects to the old generation while nothing is measured.
 *
 * Node has no API to ask for a collection; this turns on V8's `gc()` as jest's leak detector does (V8 flag, then the
 * function from a fresh context). Where that is unavailable, rounds start as before.
 */
export function settleYoungGeneration(): void {
  collect ??= exposeGc()
  if (collect === false) return
  collect({type: 'minor'})
  collect({type: 'minor'})
}

/**
 * Collects the young generation now if it is more than `fill` (0–1) full; returns whether it did. For moments when a
 * pause can distort no measurement (see measured-transport.ts, ExchangeContext.firstTokenWaits): a collection taken
 * then is one that would otherwise have fallen wherever the young generation happened to fill up.
 */
export function collectYoungGenerationIfFilled(fill: number): boolean {
  collect ??= exposeGc()
  if (collect === false) return false
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space') continue
    if (space.space_used_size < fill * (space.space_used_size + space.space_available_size)) return false
    collect({type: 'minor'})
    return true
  }
  return false
}

type Gc = (options: {type: 'minor' | 'major'}) => void
let collect: Gc | false | undefined = undefined

function exposeGc(): Gc | false {
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as Gc) : false
  } catch {
    return false
  }
}
