import type {RequestRecord} from '../record/record.js'
import type {RoundSummary} from '../summary/round-summary.js'

/**
 * Observers watch a run; they are never part of it (progress bars, live metrics, tests).
 * Every hook is optional and must not throw.
 */
export interface RunObserver {
  roundStart?(e: {concurrency: number; round: number; total: number}): void
  request?(record: RequestRecord): void
  roundEnd?(e: {concurrency: number; round: number; summary: RoundSummary}): void
  warn?(message: string): void
}
