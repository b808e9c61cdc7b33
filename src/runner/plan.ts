import {randomBytes} from 'node:crypto'
import type {Sample} from '../dataset/sample.js'
import {buildRequestBody, promptPreview} from '../http/request-body.js'
import type {ApiKind, PlannedRequest} from '../http/transport.js'

export interface BodyOptions {
  api: ApiKind
  model: string
  maxTokens?: number
  temperature?: number
  topP?: number
  stream: boolean
  includeUsage: boolean
  extraBody?: Record<string, unknown>
}

export interface PlannedLevel {
  concurrency: number
  /** Prepended to the first message in both rounds of this level; undefined with --cold-start none. */
  salt?: string
  /** One list per round. Both rounds share the same Buffer objects, so round 2 is byte-identical to round 1. */
  rounds: PlannedRequest[][]
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
  samples: Sample[],
  levels: number[],
  body: BodyOptions,
  opts: {rounds: number; salts: (string | undefined)[]},
): PlannedLevel[] {
  return levels.map((concurrency, li) => {
    const salt = opts.salts[li]
    const bodies = samples.map((s) => buildRequestBody(s, {...body, salt}))
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
    return {concurrency, salt, rounds}
  })
}
