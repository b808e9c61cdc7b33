import {setTimeout as sleep} from 'node:timers/promises'
import type {PlannedRequest, Transport} from '../http/transport.js'
import type {PrometheusProbe} from '../metrics/probe.js'
import {nowMs} from '../record/clock.js'
import type {FailureCategory, RequestRecord} from '../record/record.js'
import type {Slo} from '../slo/slo.js'
import {RoundColumns, type RoundSummary, summarizeColumns} from '../summary/round-summary.js'
import {type Stats, summarize} from '../summary/stats.js'
import {eventLoopWarning, startEventLoopMonitor} from '../perf/event-loop.js'
import {bufferedStreamsWarning} from '../summary/buffered-streams.js'
import type {RunObserver} from './events.js'
import type {LevelRequests, PlannedLevel} from './plan.js'

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
  /**
   * Called when a round ends (complete or not), with its summary and the compact per-index columns it was computed
   * from. The runner keeps no record object of a round (memory stays bounded for any round size): a consumer that
   * needs whole records (the round JSON's rows) keeps them itself from onRecord, e.g. as offsets into requests.jsonl.
   */
  onRound(summary: RoundSummary, columns: RoundColumns): Promise<void> | void
  observer?: RunObserver
  slo?: Slo
  /** Aborted: stop starting new requests (in-flight ones finish). */
  stop?: AbortSignal
  /** Aborted: cancel in-flight requests too (recorded as cancelled). */
  cancel?: AbortSignal
  /** Requests measured by an earlier invocation (--resume); they are not sent again. */
  completed?: CompletedRequests
  /** Stamped on every new record (1 for a fresh run, +1 per resume). */
  session?: number
  /** --retries: extra attempts for a retryable failure, with exponential backoff from `retryBackoffMs`. */
  retries?: number
  retryBackoffMs?: number
  /** --max-error-rate: abort the level once its failure share exceeds `rate` after `minRequests` requests. */
  maxErrorRate?: {rate: number; minRequests: number}
}

/** What the run produced, level by level. Records are not kept here: they went to onRecord/onRound. */
export interface LevelResult {
  concurrency: number
  salt?: string
  rounds: RoundSummary[]
  /** Why the level stopped early, if it did. */
  aborted?: 'interrupted' | 'max_error_rate'
}

/** Identity of one planned request across invocations: (level, round, sample position). */
export function requestKey(r: {level: number; round: number; index: number}): string {
  return `${r.level}/${r.round}/${r.index}`
}

/**
 * The requests of an earlier invocation (--resume), one round at a time. Only which plan indices are done is kept
 * in memory; the records themselves are read back when a round needs them.
 */
export interface CompletedRequests {
  /** How many requests were measured. */
  readonly size: number
  /** The round's measured requests; `size` is the round's planned requests (a larger index is not in the plan). */
  round(level: number, round: number, size: number): CompletedRound
}

export interface CompletedRound {
  /** How many of the round's plan indices were measured. */
  readonly count: number
  has(index: number): boolean
  /** The measured records, in plan order. */
  records(): AsyncIterable<RequestRecord>
}

/** A round nothing of which was measured earlier (a fresh run). */
const NOTHING_DONE: CompletedRound = {
  count: 0,
  has: () => false,
  async *records() {},
}

/** Failures worth another attempt under --retries: the server or network may answer differently next time. */
const RETRYABLE: ReadonlySet<FailureCategory> = new Set(['http_5xx', 'connection', 'timeout', 'first_token_timeout', 'stream_cut', 'malformed_sse', 'server_error_event'])

function isRetryable(r: RequestRecord): boolean {
  return !r.ok && r.error !== undefined && (RETRYABLE.has(r.error.category) || r.error.httpStatus === 429)
}

/** Longest `Retry-After` honoured: a server asking for an hour still gets its retry within a benchmark's patience. */
export const RETRY_AFTER_CAP_MS = 60_000

/**
 * Pure: the wait before retry number `attempt` (1, 2, …) of a failed request: exponential backoff from `backoffMs`, or
 * the server's `Retry-After` (capped at RETRY_AFTER_CAP_MS) when it asks for longer. Retrying a rate limit sooner
 * than asked only earns another 429.
 */
export function retryDelayMs(failed: RequestRecord, attempt: number, backoffMs: number): number {
  return Math.max(backoffMs * 2 ** (attempt - 1), Math.min(failed.error?.retryAfterMs ?? 0, RETRY_AFTER_CAP_MS))
}

/** Resolves after `ms`, or at once when `stop` aborts (Ctrl-C must not wait out a long Retry-After). */
const pause = (ms: number, stop: AbortSignal | undefined): Promise<unknown> => sleep(ms, undefined, {signal: stop}).catch(() => undefined)

/**
 * Runs the plan: per level, round 1 then round 2, each with at most `concurrency` requests in flight
 * (a closed loop of C workers over the round's queue, like vLLM's --max-concurrency). Never throws for a
 * per-request failure; stops early (keeping everything measured) when `stop` is aborted.
 */
export async function runPlan(levels: PlannedLevel[], deps: RunnerDeps): Promise<LevelResult[]> {
  const results: LevelResult[] = []
  for (const level of levels) {
    if (deps.stop?.aborted) break
    results.push(await runLevel(level, deps))
  }
  return results
}

/** One level. Its own function so the level's bodies (`prepare()`) are garbage as soon as it returns. */
async function runLevel(level: PlannedLevel, deps: RunnerDeps): Promise<LevelResult> {
  const done = Array.from({length: level.rounds}, (_, ri) => deps.completed?.round(level.concurrency, ri + 1, level.size) ?? NOTHING_DONE)
  const pending = done.reduce((sum, d) => sum + level.size - d.count, 0)
  const request = level.prepare()
  // A level finished by an earlier invocation is rebuilt from its records: nothing is sent, no cache reset.
  if (pending > 0) await deps.resetCache?.()
  const transport = deps.createTransport(level.concurrency)
  const result: LevelResult = {concurrency: level.concurrency, salt: level.salt, rounds: []}
  const levelState = {sent: 0, failed: 0, aborted: false}
  try {
    await rewarmAfterResume(level, request, done, transport, deps)
    for (let ri = 0; ri < level.rounds; ri++) {
      if (deps.stop?.aborted || levelState.aborted) break
      const toSend = level.size - done[ri].count
      if (toSend > 0) await deps.preconnect?.(transport, Math.min(level.concurrency, toSend))
      result.rounds.push(await runRound(level, ri + 1, request, done[ri], transport, deps, levelState))
    }
  } finally {
    await transport.close()
  }
  if (levelState.aborted) result.aborted = 'max_error_rate'
  else if (deps.stop?.aborted) result.aborted = 'interrupted'
  return result
}

/**
 * A run resumed in the middle of a level: the server's cache may have lost what the earlier invocation's part
 * of the level put there (a restarted server, eviction). So the already-measured requests of the level are
 * sent again, unmeasured, before the level goes on: the rest of the level then meets the cache state an
 * uninterrupted run would have met.
 */
async function rewarmAfterResume(level: PlannedLevel, request: LevelRequests, done: CompletedRound[], transport: Transport, deps: RunnerDeps): Promise<void> {
  const measured = done.reduce((sum, d) => sum + d.count, 0)
  if (measured === 0 || measured === level.rounds * level.size) return
  // Every round sends the same bytes, so one send per distinct plan index is enough (in the order first measured).
  const again = measuredIndices(done, level.size)
  deps.observer?.warn?.(
    `Concurrency ${level.concurrency}: resuming mid-level; re-sending ${again.length} already-measured request(s) unmeasured to restore the server's cache state.`,
  )
  let next = 0
  const worker = async () => {
    while (next < again.length && !deps.stop?.aborted) {
      const {round, index} = again[next++]
      await transport.send(request(round, index), {queuedAtMs: nowMs(), signal: deps.cancel})
    }
  }
  await Promise.all(Array.from({length: Math.min(level.concurrency, again.length)}, worker))
}

/** Pure: the distinct measured plan indices, round 1's in plan order first, then later rounds' new ones. */
export function measuredIndices(done: Pick<CompletedRound, 'has'>[], size: number): {round: number; index: number}[] {
  const seen = new Set<number>()
  const out: {round: number; index: number}[] = []
  done.forEach((d, ri) => {
    for (let index = 0; index < size; index++) {
      if (!d.has(index) || seen.has(index)) continue
      seen.add(index)
      out.push({round: ri + 1, index})
    }
  })
  return out
}

/** Pure: the plan indices of a round still to send, in plan order. */
export function pendingIndices(size: number, done: Pick<CompletedRound, 'has' | 'count'>): Uint32Array {
  const queue = new Uint32Array(size - done.count)
  let n = 0
  for (let index = 0; index < size; index++) if (!done.has(index)) queue[n++] = index
  return queue
}

async function runRound(
  plan: PlannedLevel,
  round: number,
  request: LevelRequests,
  done: CompletedRound,
  transport: Transport,
  deps: RunnerDeps,
  level: {sent: number; failed: number; aborted: boolean},
): Promise<RoundSummary> {
  const {concurrency, size} = plan
  // Read once: the closures below then never touch `deps`, an object whose shape differs between callers (the run's,
  // the client warm-up's); code optimized for one shape is thrown away when the other comes.
  const {onRecord, observer, cancel, stop, session, maxErrorRate, retries = 0, retryBackoffMs = 200} = deps
  const queue = pendingIndices(size, done)
  observer?.roundStart?.({concurrency, round, total: size})
  const probe = queue.length > 0 ? deps.probe : undefined
  const roundStart = probe ? await probe.fresh() : undefined
  // Only what the summary needs, by plan index; the records themselves are dropped once onRecord has them.
  const columns = new RoundColumns(size, deps.slo)
  for await (const r of done.records()) {
    observer?.request?.(r)
    columns.add(r)
  }
  const loop = startEventLoopMonitor()
  // Per-request "after" scrapes complete off the worker's critical path, so a slow /metrics never delays sends.
  // A set, emptied as they settle: an array of every request's promise would grow with the round.
  const pendingAfter = new Set<Promise<void>>()
  let next = 0

  // Looked up once: the rehearsal (client-warmup.ts) runs with no observer, and a lookup on the run's observer inside
  // the per-request code would be new to the optimized code, which V8 would throw away at the first request.
  const onRequest = observer?.request
  const finish = (record: RequestRecord) => {
    onRecord(record)
    if (onRequest !== undefined) onRequest.call(observer, record)
    columns.add(record)
  }

  const sendWithRetries = async (request: PlannedRequest): Promise<RequestRecord> => {
    const queuedAtMs = nowMs()
    let record = await transport.send(request, {queuedAtMs, signal: cancel})
    for (let attempt = 1; attempt <= retries && isRetryable(record) && !stop?.aborted; attempt++) {
      await pause(retryDelayMs(record, attempt, retryBackoffMs), stop)
      // Stopped during the wait: the failure measured is the request's record, not a retry never sent.
      if (stop?.aborted) break
      record = await transport.send(request, {queuedAtMs, signal: cancel})
      record.retries = attempt
    }
    return record
  }

  const stopping = () => stop?.aborted || level.aborted
  const worker = async () => {
    while (next < queue.length && !stopping()) {
      const planned = request(round, queue[next++])
      const before = probe ? await probe.shared() : undefined
      // Without --retries the wrapper (an async function: a promise and a hop per request) is skipped.
      const record = retries > 0 ? await sendWithRetries(planned) : await transport.send(planned, {queuedAtMs: nowMs(), signal: cancel})
      if (session !== undefined) record.session = session
      level.sent++
      if (!record.ok) level.failed++
      const limit = maxErrorRate
      if (limit && level.sent >= limit.minRequests && level.failed / level.sent > limit.rate && !level.aborted) {
        level.aborted = true
        observer?.warn?.(
          `Concurrency ${concurrency}: ${level.failed} of ${level.sent} requests failed (> ${(100 * limit.rate).toFixed(1)}%, --max-error-rate); aborting this level.`,
        )
      }
      if (probe && before) {
        // Only a scrape that started after this request ended can contain its own counter increments.
        const pending: Promise<void> = probe.shared({startedAfterMs: record.endedAtMs}).then((after) => {
          record.prometheus = probe.requestValues(before, after)
          record.scrapes = {before: before.id, after: after.id}
          finish(record)
          pendingAfter.delete(pending)
        })
        pendingAfter.add(pending)
      } else {
        finish(record)
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(concurrency, queue.length)}, worker))
  await Promise.all([...pendingAfter])
  const loopStats = loop.stop()

  const summary = summarizeColumns(concurrency, round, columns)
  if (queue.length > 0) {
    summary.event_loop = loopStats
    const warning = eventLoopWarning(concurrency, round, loopStats)
    if (warning) observer?.warn?.(warning)
    const buffered = bufferedStreamsWarning(concurrency, round, columns.streams)
    if (buffered) observer?.warn?.(buffered)
  }
  summary.planned_requests = size
  // A request cancelled by a second Ctrl-C was never measured (--resume sends it again): it does not complete a round.
  summary.complete = columns.finished - columns.cancelled === size
  if (probe && roundStart !== undefined) {
    const roundEnd = await probe.fresh()
    const perRequest: Record<string, Stats> = {}
    for (const name of probe.names()) perRequest[name] = summarize(columns.prometheusValues(name) ?? [])
    summary.prometheus = {names: probe.names(), round: probe.roundValues(roundStart, roundEnd), per_request: perRequest, health: probe.health()}
  }
  await deps.onRound(summary, columns)
  observer?.roundEnd?.({concurrency, round, summary})
  return summary
}
