import type {RequestRecord} from '../../src/record/record.js'

/** One hand-made round: counts and times chosen so the summary's values are known exactly. */
export interface RoundSpec {
  /** Successful requests; with durationMs they set requests/s exactly: ok / (durationMs / 1000). */
  ok: number
  durationMs: number
  /** Every successful request's latency, so P99 latency = latencyMs exactly. */
  latencyMs: number
  failed?: number
  /** TTFT of request i: ttft(i), default 100 ms. */
  ttft?: (i: number) => number
  /** Output tokens per successful request (default 10). */
  outputTokens?: number
}

/**
 * Hand-made records: `ok` requests of equal latency staggered so the first starts at 0 and the last ends at
 * durationMs, plus `failed` requests inside that span.
 */
export function records(c: number, round: number, spec: RoundSpec): RequestRecord[] {
  if (spec.latencyMs > spec.durationMs) throw new Error('test spec: latency longer than the round')
  const out: RequestRecord[] = []
  const step = spec.ok > 1 ? (spec.durationMs - spec.latencyMs) / (spec.ok - 1) : 0
  for (let i = 0; i < spec.ok; i++) {
    const sent = i * step
    out.push({
      level: c, round, index: i, sampleId: `s${i}`, promptPreview: 'p', queuedAtMs: sent, sentAtMs: sent,
      firstTokenAtMs: sent + (spec.ttft ? spec.ttft(i) : 100), endedAtMs: sent + spec.latencyMs, outputTokens: spec.outputTokens ?? 10, ok: true,
    })
  }
  for (let j = 0; j < (spec.failed ?? 0); j++) {
    out.push({
      level: c, round, index: spec.ok + j, sampleId: `f${j}`, promptPreview: 'p', queuedAtMs: 0, sentAtMs: 0, endedAtMs: 1, ok: false,
      error: {category: 'http_5xx', message: 'boom', httpStatus: 500},
    })
  }
  return out
}
