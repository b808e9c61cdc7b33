/**
 * The object the runner uses to read server-side Prometheus metrics around requests and rounds.
 *
 * Scrape sharing (issue #3). At concurrency N, N requests start and finish at almost the same time, and
 * one scrape per request per side would hit the metrics endpoint 2N times per "tick". So scrapes are
 * shared, and the endpoint sees at most one scrape in flight and at most one start per `shareWindowMs`:
 *
 * - "before" (`shared()`): any scrape in flight, or a successful one that completed less than
 *   `shareWindowMs` ago, else a new one. The runner awaits it before sending, so the reading always
 *   precedes the send.
 * - "after" (`shared({startedAfterMs: endedAtMs})`): only a scrape that STARTED after the request
 *   completed. A scrape already in flight when the request completed may have been read by the server
 *   before the request's own increments landed, so reusing it could miss them. Such requests join the
 *   next scrape, which starts when the one in flight has finished and the window has passed.
 * - `fresh()`: a scrape started after the call (round start and end).
 *
 * Consequence, inherent in the seed's before/after method: a request's window (before-scrape … after-scrape)
 * is wider than the request itself and, under concurrency, overlaps other requests, so its counter deltas
 * include their increments too. Per-request numbers are indicative; the per-round numbers (`roundValues`,
 * from scrapes at round start and end) are the authoritative ones. A per-request ratio ΔHITS/ΔQUERIES over
 * that window is still a meaningful hit rate of the traffic in it.
 *
 * Faults never throw: a failed scrape is a ScrapeRef with `ok: false`, and values read from it are null.
 * While the endpoint keeps failing, requests reuse the last failure for a back-off period (doubling up to
 * 30 s) instead of waiting on a new attempt each time, so a dead endpoint does not slow the benchmark.
 */
import {nowMs} from '../record/clock.js'
import {isCumulative, metricDelta, ratioDelta, readingValue} from './delta.js'
import {buildMetricSet, metricSetNames, type MetricSet} from './metric-set.js'
import type {MetricType} from './parse.js'
import {fetchExposition, type ScrapeFailureKind, type ScrapeResult} from './scrape.js'
import {resolveSelector, sampleFilter, type Reading, type Selector} from './selector.js'

export interface PrometheusProbeOptions {
  url: string
  metrics: string[]
  ratios?: string[]
  preset?: string
  /** Per-scrape deadline (headers and body). Default 2000 ms: well below a request timeout. */
  timeoutMs?: number
  /** Reuse a completed scrape younger than this for "before", and start at most one scrape per window. Default 100 ms. */
  shareWindowMs?: number
  /** First back-off after a failed scrape; doubles per consecutive failure up to 30 s. Default 1000 ms. */
  failureBackoffMs?: number
  /** Human warnings (endpoint failing/recovered, counter resets, a metric that is absent). */
  onWarning?: (message: string) => void
}

/**
 * One scrape as seen by the runner. Record `id` in the request record (`scrapes.before/after`); the
 * parsed `result` is for the probe's own methods and is not meant to be serialised.
 */
export interface ScrapeRef {
  id: number
  startedAtMs: number
  completedAtMs: number
  ok: boolean
  failure?: {kind: ScrapeFailureKind; message: string}
  result: ScrapeResult
}

/** Per-request values plus what the bare record map cannot say. */
export interface RequestPrometheus {
  /** By output name; gauges also carry `<name>@before`. */
  values: Record<string, number | null>
  /** Names whose counters went down between the two scrapes (reported as null). */
  resets: string[]
}

/** Authoritative per-round numbers from the scrapes at round start and end. */
export interface RoundPrometheus {
  /** Counter: round delta; gauge/untyped: end value; histogram/summary: mean of the round's observations; ratio: ΔA/ΔB. */
  values: Record<string, number | null>
  /** Metric type read at round end ('ratio' for ratios; null when absent). */
  types: Record<string, MetricType | 'ratio' | null>
  resets: string[]
  scrapes: {start: number; end: number; startOk: boolean; endOk: boolean}
  /** Raw readings at round start and end (sums over the matching series), by metric name. */
  before: Record<string, Reading | null>
  after: Record<string, Reading | null>
}

export interface PrometheusHealth {
  scrapes: number
  failures: number
  failureByKind: Partial<Record<ScrapeFailureKind, number>>
  /** Distinct counter resets seen (per metric and scrape). */
  resets: number
  /** Requests whose values are null because their before or after scrape failed. */
  requestsWithoutScrape: number
}

export interface PrometheusProbe {
  /** Metric and ratio names in output order (gauges' `@before` companions are not listed). */
  names(): string[]
  /** A shared scrape; with `startedAfterMs`, only one that started at or after that time. */
  shared(opts?: {startedAfterMs?: number}): Promise<ScrapeRef>
  /** A scrape that starts after this call. */
  fresh(): Promise<ScrapeRef>
  requestValues(before: ScrapeRef, after: ScrapeRef): Record<string, number | null>
  requestDetail(before: ScrapeRef, after: ScrapeRef): RequestPrometheus
  roundValues(start: ScrapeRef, end: ScrapeRef): RoundPrometheus
  /** Selectors (and ratio operands) absent from a scrape: for a warning at preflight. */
  missing(ref: ScrapeRef): string[]
  health(): PrometheusHealth
}

const MAX_BACKOFF_MS = 30_000

/** Validates every spec up front (input error, exit 2, on a bad one) and returns the probe. Sends nothing. */
export function createPrometheusProbe(opts: PrometheusProbeOptions): PrometheusProbe {
  const set = buildMetricSet({metrics: opts.metrics, ratios: opts.ratios, preset: opts.preset})
  return new Probe(opts, set)
}

interface Pending {
  promise: Promise<ScrapeRef>
  resolve: (ref: ScrapeRef) => void
}

class Probe implements PrometheusProbe {
  private readonly timeoutMs: number
  private readonly windowMs: number
  private readonly baseBackoffMs: number
  private readonly warn: (message: string) => void
  private readonly keepSample: (sampleName: string) => boolean

  private nextId = 1
  private inFlight?: {startedAtMs: number; promise: Promise<ScrapeRef>}
  private pending?: Pending
  private pendingTimer?: NodeJS.Timeout
  private last?: ScrapeRef
  private lastStartMs = Number.NEGATIVE_INFINITY
  private consecutiveFailures = 0

  private scrapes = 0
  private failures = 0
  private readonly failureByKind: Partial<Record<ScrapeFailureKind, number>> = {}
  private readonly resetEvents = new Set<string>()
  private requestsWithoutScrape = 0
  private readonly warnedAbsent = new Set<string>()

  constructor(
    private readonly opts: PrometheusProbeOptions,
    private readonly set: MetricSet,
  ) {
    this.timeoutMs = opts.timeoutMs ?? 2000
    this.windowMs = opts.shareWindowMs ?? 100
    this.baseBackoffMs = opts.failureBackoffMs ?? 1000
    this.warn = opts.onWarning ?? (() => {})
    this.keepSample = sampleFilter([...set.metrics.map((m) => m.selector), ...set.ratios.flatMap((r) => [r.ratio.numerator, r.ratio.denominator])])
  }

  names(): string[] {
    return metricSetNames(this.set)
  }

  shared(opts: {startedAfterMs?: number} = {}): Promise<ScrapeRef> {
    const now = nowMs()
    const after = opts.startedAfterMs
    if (after === undefined) {
      if (this.inFlight) return this.inFlight.promise
      if (this.last?.ok && now - this.last.completedAtMs <= this.windowMs) return Promise.resolve(this.last)
    } else {
      if (this.inFlight && this.inFlight.startedAtMs >= after) return this.inFlight.promise
      if (this.last?.ok && this.last.startedAtMs >= after) return Promise.resolve(this.last)
    }
    // The endpoint is failing: hand out the failure (null values) instead of queueing on another attempt.
    if (this.last && !this.last.ok && !this.inFlight && now - this.last.completedAtMs < this.backoffMs()) {
      return Promise.resolve(this.last)
    }
    return this.next()
  }

  /** Ignores the failure back-off on purpose: round boundaries are few and their numbers are the authoritative ones. */
  fresh(): Promise<ScrapeRef> {
    return this.next()
  }

  requestValues(before: ScrapeRef, after: ScrapeRef): Record<string, number | null> {
    return this.requestDetail(before, after).values
  }

  requestDetail(before: ScrapeRef, after: ScrapeRef): RequestPrometheus {
    if (!before.ok || !after.ok) this.requestsWithoutScrape++
    const computed = this.compute(before, after)
    const values: Record<string, number | null> = {}
    for (const {selector} of this.set.metrics) {
      values[selector.text] = computed.values[selector.text]
      if (computed.types[selector.text] === 'gauge' || computed.types[selector.text] === 'untyped') {
        values[`${selector.text}@before`] = readingValue(computed.before[selector.text] ?? undefined)
      }
    }
    for (const {ratio} of this.set.ratios) values[ratio.name] = computed.values[ratio.name]
    return {values, resets: computed.resets}
  }

  roundValues(start: ScrapeRef, end: ScrapeRef): RoundPrometheus {
    const computed = this.compute(start, end)
    for (const name of this.absentIn(end)) {
      if (this.warnedAbsent.has(name) || !end.ok) continue
      this.warnedAbsent.add(name)
      this.warn(`Prometheus: ${name} is not exposed by ${this.opts.url}; its values are empty (run prom-check to see close names).`)
    }
    return {...computed, scrapes: {start: start.id, end: end.id, startOk: start.ok, endOk: end.ok}}
  }

  missing(ref: ScrapeRef): string[] {
    return ref.ok ? this.absentIn(ref) : []
  }

  health(): PrometheusHealth {
    return {
      scrapes: this.scrapes,
      failures: this.failures,
      failureByKind: {...this.failureByKind},
      resets: this.resetEvents.size,
      requestsWithoutScrape: this.requestsWithoutScrape,
    }
  }

  // --- computation -------------------------------------------------------------------------------

  private compute(before: ScrapeRef, after: ScrapeRef) {
    const read = (ref: ScrapeRef, selector: Selector) => (ref.result.ok ? resolveSelector(selector, ref.result.exposition) : undefined)
    const values: Record<string, number | null> = {}
    const types: Record<string, MetricType | 'ratio' | null> = {}
    const beforeReadings: Record<string, Reading | null> = {}
    const afterReadings: Record<string, Reading | null> = {}
    const resets: string[] = []

    for (const {selector} of this.set.metrics) {
      const b = read(before, selector)
      const a = read(after, selector)
      const delta = metricDelta(b, a)
      values[selector.text] = delta.value
      types[selector.text] = a?.type ?? b?.type ?? null
      beforeReadings[selector.text] = b ?? null
      afterReadings[selector.text] = a ?? null
      if (delta.reset) this.noteReset(selector.text, before, after, resets)
    }
    for (const {ratio} of this.set.ratios) {
      const num = {before: read(before, ratio.numerator), after: read(after, ratio.numerator)}
      const den = {before: read(before, ratio.denominator), after: read(after, ratio.denominator)}
      const delta = ratioDelta(num, den)
      values[ratio.name] = delta.value
      types[ratio.name] = 'ratio'
      if (delta.reset) this.noteReset(ratio.name, before, after, resets)
      this.warnNonCumulative(ratio.name, num.after, den.after)
    }
    return {values, types, resets, before: beforeReadings, after: afterReadings}
  }

  private noteReset(name: string, before: ScrapeRef, after: ScrapeRef, resets: string[]) {
    resets.push(name)
    const key = `${name}\u0000${after.id}`
    if (this.resetEvents.has(key)) return
    this.resetEvents.add(key)
    this.warn(`Prometheus: ${name} went down between scrapes #${before.id} and #${after.id} (server restart?); reported as empty, not as a negative delta.`)
  }

  private warnNonCumulative(name: string, numerator: Reading | undefined, denominator: Reading | undefined) {
    for (const operand of [numerator, denominator]) {
      if (!operand || isCumulative(operand.type)) continue
      const key = `ratio\u0000${name}\u0000${operand.family}`
      if (this.warnedAbsent.has(key)) continue
      this.warnedAbsent.add(key)
      this.warn(`Prometheus: ratio ${name} uses ${operand.family}, a ${operand.type}; a ratio needs counters, so it stays empty.`)
    }
  }

  private absentIn(ref: ScrapeRef): string[] {
    if (!ref.result.ok) return []
    const exposition = ref.result.exposition
    const absent: string[] = []
    for (const {selector, optional} of this.set.metrics) {
      if (!optional && resolveSelector(selector, exposition) === undefined) absent.push(selector.text)
    }
    for (const {ratio, optional} of this.set.ratios) {
      if (optional) continue
      for (const operand of [ratio.numerator, ratio.denominator]) {
        if (resolveSelector(operand, exposition) === undefined && !absent.includes(operand.text)) absent.push(operand.text)
      }
    }
    return absent
  }

  // --- scheduling ----------------------------------------------------------------------------------

  /** Joins the queued scrape, or starts one now if nothing is in flight and the window has passed. */
  private next(): Promise<ScrapeRef> {
    if (this.pending) return this.pending.promise
    if (!this.inFlight && nowMs() >= this.lastStartMs + this.windowMs) return this.start()
    let resolve!: (ref: ScrapeRef) => void
    const promise = new Promise<ScrapeRef>((r) => (resolve = r))
    this.pending = {promise, resolve}
    this.kick()
    return promise
  }

  /** Starts the queued scrape once nothing is in flight and the window since the last start has passed. */
  private kick() {
    if (!this.pending || this.inFlight) return
    const wait = this.lastStartMs + this.windowMs - nowMs()
    if (wait > 0) {
      if (!this.pendingTimer) {
        this.pendingTimer = setTimeout(() => {
          this.pendingTimer = undefined
          this.kick()
        }, Math.ceil(wait))
      }
      return
    }
    const {resolve} = this.pending
    this.pending = undefined
    void this.start().then(resolve)
  }

  private start(): Promise<ScrapeRef> {
    const id = this.nextId++
    const startedAtMs = nowMs()
    this.lastStartMs = startedAtMs
    const promise = fetchExposition(this.opts.url, {timeoutMs: this.timeoutMs, keepSample: this.keepSample})
      .catch((error: unknown): ScrapeResult => ({ok: false, kind: 'other', message: String(error), responseMs: nowMs() - startedAtMs}))
      .then((result) => this.complete(id, startedAtMs, result))
    this.inFlight = {startedAtMs, promise}
    return promise
  }

  private complete(id: number, startedAtMs: number, result: ScrapeResult): ScrapeRef {
    const ref: ScrapeRef = {
      id,
      startedAtMs,
      completedAtMs: nowMs(),
      ok: result.ok,
      failure: result.ok ? undefined : {kind: result.kind, message: result.message},
      result,
    }
    this.scrapes++
    if (result.ok) {
      if (this.consecutiveFailures > 0) {
        this.warn(`Prometheus: ${this.opts.url} answers again after ${this.consecutiveFailures} failed scrape(s).`)
      }
      this.consecutiveFailures = 0
    } else {
      this.failures++
      this.failureByKind[result.kind] = (this.failureByKind[result.kind] ?? 0) + 1
      if (this.consecutiveFailures === 0) {
        this.warn(`Prometheus: scrape of ${this.opts.url} failed (${result.kind}: ${result.message}); metric values are empty until it answers.`)
      }
      this.consecutiveFailures++
    }
    this.last = ref
    this.inFlight = undefined
    this.kick()
    return ref
  }

  private backoffMs(): number {
    return Math.min(MAX_BACKOFF_MS, this.baseBackoffMs * 2 ** Math.max(0, this.consecutiveFailures - 1))
  }
}
