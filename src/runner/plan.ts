import {randomBytes} from 'node:crypto'
import type {ChatMessage, Sample} from '../dataset/sample.js'
import {buildRequestBody, promptPreview, type RequestBodyOptions} from '../http/request-body.js'
import type {PlannedRequest} from '../http/transport.js'
import {PackedBytes, PackedStrings} from './packed-bytes.js'

/** Everything that shapes a request body except the per-level salt, which the plan adds. */
export type BodyOptions = Omit<RequestBodyOptions, 'salt'>

/** A prepared level's request at plan `index` of `round` (1-based); a fresh small object per call. */
export type LevelRequests = (round: number, index: number) => PlannedRequest

export interface PlannedLevel {
  concurrency: number
  /** Prepended to the first message in both rounds of this level; undefined with --cold-start none. */
  salt?: string
  /** Rounds at this level; each sends all `size` requests once, in plan order. */
  rounds: number
  /** Requests per round: plan indices 0 … size − 1. */
  size: number
  /**
   * Builds this level's request bodies. Called when the level starts and dropped when it ends, so only one level's
   * bodies are ever in memory. Every round takes its body from the same bytes, so round 2 is byte-identical to
   * round 1; preparing again gives the same bytes too (a resumed run re-sends what the first invocation sent).
   */
  prepare(): LevelRequests
}

/**
 * Pure: exactly `n` requests per level from the dataset (--requests-per-level / --num-requests): the samples in
 * order, cycling when `n` is larger. Copy k > 0 of a sample gets its own salt suffix, so repeats are distinct
 * requests (identical bytes would hit the cache inside round 1 and make it warm), and the id `<id>#k`; a suffix
 * whose id is already taken (a dataset id such as `a#1` next to `a`) is skipped for the next free number, because
 * two requests with one sample_id would merge in the round files.
 */
export function repeatSamples(samples: Sample[], n: number): {sample: Sample; repeat: number}[] {
  if (n <= samples.length) return samples.slice(0, n).map((sample) => ({sample, repeat: 0}))
  // Built only when there are repeats: a set of every id is a few MB at 100 000 samples.
  const taken = new Set(samples.map((s) => s.id))
  // Per dataset position: the next suffix number to try, so each sample's labels keep counting up.
  const nextSuffix = new Uint32Array(samples.length).fill(1)
  return Array.from({length: n}, (_, i) => {
    const pos = i % samples.length
    const sample = samples[pos]
    const repeat = Math.floor(i / samples.length)
    if (repeat === 0) return {sample, repeat}
    let id: string
    do id = `${sample.id}#${nextSuffix[pos]++}`
    while (taken.has(id))
    taken.add(id)
    return {sample: {...sample, id}, repeat}
  })
}

/** A short salt line unique to one level, e.g. "[dual-bench 5f2c9a1e]". */
export function newSalt(): string {
  return `[dual-bench ${randomBytes(4).toString('hex')}]`
}

/**
 * Pure apart from the salt source: the order of the whole run. Levels in the order given; per level, round 1
 * sends every sample in dataset order, then round 2 sends the same bodies in the same order.
 *
 * The plan keeps no reference to `input`: what it needs of the samples is packed off the JS heap (see
 * {@link PackedBytes}), and a level's bodies exist only between its `prepare()` and its end.
 */
export function buildPlan(
  input: PlanSamples | Sample[] | {sample: Sample; repeat: number}[],
  levels: number[],
  body: BodyOptions,
  opts: {rounds: number; salts: (string | undefined)[]},
): PlannedLevel[] {
  const samples = input instanceof PlanSamples ? input : new PlanSamples(input)
  return levels.map((concurrency, li) => {
    const salt = opts.salts[li]
    return {concurrency, salt, rounds: opts.rounds, size: samples.size, prepare: () => prepareLevel(samples, concurrency, body, salt)}
  })
}

/** Every request of a level, round by round: for small plans only (tests, the preflight). */
export function levelRequestLists(level: PlannedLevel): PlannedRequest[][] {
  const request = level.prepare()
  return Array.from({length: level.rounds}, (_, ri) => Array.from({length: level.size}, (_, index) => request(ri + 1, index)))
}

/**
 * The plan's own copy of the samples, by plan index: what the requests need of them, packed off the JS heap
 * (see {@link PackedBytes}). Build it where the samples are loaded and let the Sample[] go: a Sample[] still
 * referenced, even by a suspended async function's frame, stays on the heap for the whole run.
 */
export class PlanSamples {
  /** Requests per round (plan indices 0 … size − 1). */
  readonly size: number
  readonly ids: PackedStrings
  readonly repeat: Uint32Array
  /** Plan index → slot of the sample's content below; a sample's repeats share one slot. */
  readonly slot: Uint32Array
  /** Per slot: JSON of what shapes the body ({messages, maxTokens}). */
  readonly contents: PackedBytes
  readonly previews: PackedStrings
  /** Per slot: JSON of `inputLength`, or '' when the sample has none. */
  readonly inputLengths: PackedStrings

  /** `input`: the samples in plan order, or repeatSamples' entries. */
  constructor(input: Sample[] | {sample: Sample; repeat: number}[]) {
    const entries = input.map((x) => ('sample' in x ? x : {sample: x, repeat: 0}))
    // A repeat (repeatSamples) shares its sample's messages: packed once, so a few long prompts cycled to many
    // requests cost one copy each.
    this.slot = new Uint32Array(entries.length)
    const distinct: Sample[] = []
    const slotOf = new Map<ChatMessage[], number>()
    entries.forEach(({sample}, i) => {
      const known = slotOf.get(sample.messages)
      if (known !== undefined && distinct[known].maxTokens === sample.maxTokens && distinct[known].inputLength === sample.inputLength) {
        this.slot[i] = known
        return
      }
      this.slot[i] = distinct.length
      slotOf.set(sample.messages, distinct.length)
      distinct.push(sample)
    })
    this.size = entries.length
    this.ids = PackedStrings.of(entries.length, (i) => entries[i].sample.id)
    this.repeat = Uint32Array.from(entries, (e) => e.repeat)
    // JSON keeps every string exactly (a lone surrogate is escaped), so the body built from it is the same bytes.
    this.contents = PackedBytes.of(distinct.length, (s) => Buffer.from(JSON.stringify({messages: distinct[s].messages, maxTokens: distinct[s].maxTokens})))
    this.previews = PackedStrings.of(distinct.length, (s) => promptPreview(distinct[s]))
    this.inputLengths = PackedStrings.of(distinct.length, (s) => (distinct[s].inputLength ? JSON.stringify(distinct[s].inputLength) : ''))
  }
}

function prepareLevel(samples: PlanSamples, concurrency: number, body: BodyOptions, levelSalt: string | undefined): LevelRequests {
  const bodies = PackedBytes.of(samples.size, (i) => {
    const repeat = samples.repeat[i]
    const salt = repeat === 0 ? levelSalt : `${levelSalt ?? '[dual-bench]'} #${repeat}`
    const content = JSON.parse(samples.contents.at(samples.slot[i]).toString('utf8')) as Pick<Sample, 'messages' | 'maxTokens'>
    return buildRequestBody({id: '', ...content}, {...body, salt})
  })
  return (round, index) => {
    const s = samples.slot[index]
    const inputLength = samples.inputLengths.at(s)
    return {
      level: concurrency,
      round,
      index,
      sampleId: samples.ids.at(index),
      promptPreview: samples.previews.at(s),
      body: bodies.at(index),
      inputLength: inputLength === '' ? undefined : (JSON.parse(inputLength) as PlannedRequest['inputLength']),
    }
  }
}
