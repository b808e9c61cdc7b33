import {randomBytes} from 'node:crypto'
import type {Sample} from '../dataset/sample.js'
import {buildRequestBody, promptPreview, type RequestBodyOptions} from '../http/request-body.js'
import type {PlannedRequest} from '../http/transport.js'

/** Everything that shapes a request body except the per-level salt, which the plan adds. */
export type BodyOptions = Omit<RequestBodyOptions, 'salt'>

export interface PlannedLevel {
  concurrency: number
  /** Prepended to the first message in both rounds of this level; undefined with --cold-start none. */
  salt?: string
  /** One list per round. Both rounds share the same Buffer objects, so round 2 is byte-identical to round 1. */
  rounds: PlannedRequest[][]
}

/**
 * Pure: exactly `n` requests per level from the dataset (--requests-per-level / --num-requests): the samples in
 * order, cycling when `n` is larger. Copy k > 0 of a sample gets id `<id>#k` and its own salt suffix, so repeats
 * are distinct requests (identical bytes would hit the cache inside round 1 and make it warm).
 */
export function repeatSamples(samples: Sample[], n: number): {sample: Sample; repeat: number}[] {
  return Array.from({length: n}, (_, i) => {
    const sample = samples[i % samples.length]
    const repeat = Math.floor(i / samples.length)
    return {sample: repeat === 0 ? sample : {...sample, id: `${sample.id}#${repeat}`}, repeat}
  })
}

/** A short salt line unique to one level, e.g. "[dual-bench 5f2c9a1e]". */
export function newSalt(): string {
  return `[dual-bench ${randomBytes(4).toString('hex')}]`
}

/**
 * Pure apart from the salt source: the order of the whole run. Levels in the order given; per level, round 1
 * sends every sample in dataset order, then round 2 sends the same bodies in the same order.
 */
export function buildPlan(
  input: Sample[] | {sample: Sample; repeat: number}[],
  levels: number[],
  body: BodyOptions,
  opts: {rounds: number; salts: (string | undefined)[]},
): PlannedLevel[] {
  const entries = input.map((x) => ('sample' in x ? x : {sample: x, repeat: 0}))
  const samples = entries.map((e) => e.sample)
  return levels.map((concurrency, li) => {
    const levelSalt = opts.salts[li]
    const bodies = entries.map(({sample, repeat}) => {
      const salt = repeat === 0 ? levelSalt : `${levelSalt ?? '[dual-bench]'} #${repeat}`
      return buildRequestBody(sample, {...body, salt})
    })
    const rounds = Array.from({length: opts.rounds}, (_, ri) =>
      samples.map(
        (s, index): PlannedRequest => ({
          level: concurrency,
          round: ri + 1,
          index,
          sampleId: s.id,
          promptPreview: promptPreview(s),
          body: bodies[index],
          inputLength: s.inputLength,
        }),
      ),
    )
    return {concurrency, salt: levelSalt, rounds}
  })
}
