import type {PlannedRequest, Transport} from '../http/transport.js'
import type {PrometheusProbe} from '../metrics/probe.js'
import {nowMs} from '../record/clock.js'
import type {RequestRecord} from '../record/record.js'
import type {Slo} from '../slo/slo.js'
import {type RoundSummary, summarizeRound} from '../summary/round-summary.js'
import {type Stats, summarize} from '../summary/stats.js'
import type {RunObserver} from './events.js'
import type {PlannedLevel} from './plan.js'


export interface RunnerDeps {
  /** A transport for one level; `maxSockets` is the level's concurrency. */
  createTransport(maxSockets: number): Transport
  /** Opens the level's connections before its clock starts (nothing measured is sent). */
  preconnect?(transport: Transport, sockets: number): Promise<void>
  /** Flushes the server's prefix cache before a level (--cache-reset). */
  resetCache?(): Promise<void>
  probe?: PrometheusProbe
  /** Called with every finished record, in completion order (requests.jsonl). */
  onRecord(record: RequestRecord): void
  /** Called when a round is complete, with all its records in plan order (round JSON). */
  onRound(summary: RoundSummary, records: RequestRecord[]): Promise<void> | void
  observer?: RunObserver
  slo?: Slo
  /** Aborted: stop starting new requests (in-flight ones finish). */
  stop?: AbortSignal
  /** Aborted: cancel in-flight requests too (recorded as cancelled). */
  cancel?: AbortSignal
}

/** What the run produced, level by level. Records are not kept here: they went to onRecord/onRound. */
export interface LevelResult {
  concurrency: number
  salt?: string
  rounds: RoundSummary[]
}

/**
 * Runs the plan: per level, round 1 then round 2, each with at most `concurrency` requests in flight
 * (a closed loop of C workers over the round's queue, like vLLM's --max-concurrency). Never throws for a
 * per-request failure; stops early (keeping everything measured) when `stop` is aborted.
 */
export async function runPlan(levels: PlannedLevel[], deps: RunnerDeps): Promise<LevelResult[]> {
  const results: LevelResult[] = []
  for (const level of levels) {
    if (deps.stop?.aborted) break
    await deps.resetCache?.()
    const transport = deps.createTransport(level.concurrency)
    const result: LevelResult = {concurrency: level.concurrency, salt: level.salt, rounds: []}
    results.push(result)
    try {
      for (const requests of level.rounds) {
        if (deps.stop?.aborted) break
        await deps.preconnect?.(transport, Math.min(level.concurrency, requests.length))
        result.rounds.push(await runRound(level.concurrency, requests, transport, deps))
      }
    } finally {
      await transport.close()
    }
  }
  return results
}

async function runRound(concurrency: number, requests: PlannedRequest[], transport: Transport, deps: RunnerDeps): Promise<RoundSummary> {
  const round = requests[0]?.round ?? 1
  deps.observer?.roundStart?.({concurrency, round, total: requests.length})
  const probe = deps.probe
  const roundStart = probe ? await probe.fresh() : undefined
  const records: RequestRecord[] = new Array(requests.length)
  // Per-request "after" scrapes complete off the worker's critical path, so a slow /metrics never delays sends.
  const pendingAfter: Promise<void>[] = []
  let next = 0

  const finish = (record: RequestRecord, index: number) => {
    records[index] = record
    deps.onRecord(record)
    deps.observer?.request?.(record)
  }

  const worker = async () => {
    while (next < requests.length && !deps.stop?.aborted) {
      const index = next++
      const request = requests[index]
      const queuedAtMs = nowMs()
      const before = probe ? await probe.shared() : undefined
      const record = await transport.send(request, {queuedAtMs, signal: deps.cancel})
      if (probe) {
        // Only a scrape that started after this request ended can contain its own counter increments.
        pendingAfter.push(
          probe.shared({startedAfterMs: record.endedAtMs}).then((after) => {
            record.prometheus = probe.requestValues(before!, after)
            record.scrapes = {before: before!.id, after: after.id}
            finish(record, index)
          }),
        )
      } else {
        finish(record, index)
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, requests.length)}, worker))
  await Promise.all(pendingAfter)

  const done = records.filter((r) => r !== undefined)
  const summary = summarizeRound(concurrency, round, done, deps.slo)
  if (probe && roundStart !== undefined) {
    const roundEnd = await probe.fresh()
    const perRequest: Record<string, Stats> = {}
    for (const name of probe.names()) perRequest[name] = summarize(done.map((r) => r.prometheus?.[name]))
    summary.prometheus = {names: probe.names(), round: probe.roundValues(roundStart, roundEnd), per_request: perRequest, health: probe.health()}
  }
  await deps.onRound(summary, done)
  deps.observer?.roundEnd?.({concurrency, round, summary})
  return summary
}
