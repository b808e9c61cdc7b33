import type {Slo} from '../slo/slo.js'
import type {RoundSummary} from '../summary/round-summary.js'

/**
 * What `report` and `compare` read back from a run's output directory, typed. The round summaries are
 * rebuilt as the project's own `RoundSummary`, so the report reuses the same row definitions as
 * metrics_summary.csv (output/summary-rows.ts) instead of a second list.
 */

/**
 * A round summary read from `concurrency_<C>_round_<R>.json`, as the project's RoundSummary. The file does not
 * store observation counts, so `distributions[*].count` is `successful_requests` when the metric has values and
 * 0 when it has none: use it as "has data", not as a sample size. Prometheus fields the report does not use and
 * an older file may lack (scrape ids, readings, health) get empty defaults.
 */
export type LoadedSummary = RoundSummary

/** A failed request of a round, for the report's failure list (texts come from the server and the dataset). */
export interface FailedRequest {
  index: number
  sampleId: string | null
  /** Prompt preview as stored in the round JSON. */
  prompt: string | null
  error: string | null
}

export interface RoundResult {
  concurrency: number
  round: number
  /** File the round was read from (basename), for messages. */
  file: string
  summary: LoadedSummary
  failedRequests: FailedRequest[]
}

/** run.json, as written by run/run-benchmark.ts. Unknown extra fields are kept in `configuration`. */
export interface RunInfo {
  tool: string
  version: string
  started_at: string | null
  ended_at: string | null
  /** The redacted run configuration (endpoint, model, concurrency, …). */
  configuration: Record<string, unknown>
  dataset: {path: string; sha256: string | null; samples: number | null} | null
  salts: Record<string, string | null>
  slo: Slo | null
  /** Present when the run used the built-in simulator. */
  simulator: {url?: string; note?: string} | null
}

export interface RunResults {
  /** The directory as given. */
  dir: string
  run: RunInfo
  /** Sorted by concurrency in the run's order, then round. */
  rounds: RoundResult[]
  /** Things the reader should know, e.g. rounds the run planned but never wrote (interrupted run). */
  warnings: string[]
}

/** Concurrency levels in the order the run used them (run.json), then any extra found on disk. */
export function levelsOf(results: RunResults): number[] {
  const out: number[] = []
  for (const r of results.rounds) if (!out.includes(r.concurrency)) out.push(r.concurrency)
  return out
}

/** The round result for (level, round), if the run wrote it. */
export function findRound(results: RunResults, concurrency: number, round: number): RoundResult | undefined {
  return results.rounds.find((r) => r.concurrency === concurrency && r.round === round)
}
