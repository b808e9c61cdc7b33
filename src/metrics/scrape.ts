/**
 * I/O: one GET of a metrics endpoint, parsed. Never throws: every failure is a value with a kind that
 * the probe counts and prom-check reports.
 *
 * Uses Node's global fetch rather than ky: ky stays confined to the LLM transport (src/http), and a
 * scrape needs nothing beyond a GET with a deadline.
 */
import {nowMs} from '../record/clock.js'
import {parseExposition, type Exposition, type ParseOptions} from './parse.js'

export type ScrapeFailureKind = 'connection' | 'timeout' | 'http_status' | 'parse' | 'other'

export interface ScrapeSuccess {
  ok: true
  status: number
  contentType?: string
  /** From sending the request to the last body byte. */
  responseMs: number
  bytes: number
  exposition: Exposition
}

export interface ScrapeFailure {
  ok: false
  kind: ScrapeFailureKind
  message: string
  status?: number
  contentType?: string
  responseMs: number
}

export type ScrapeResult = ScrapeSuccess | ScrapeFailure

/**
 * What we accept, in Prometheus' own order of preference. Text 0.0.4 first: every server we target
 * speaks it, and OpenMetrics is only asked for as a fallback (both are parsed).
 */
const ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1'

/** GETs `url` and parses the body; the whole exchange (headers and body) must finish within `timeoutMs`. */
export async function fetchExposition(url: string | URL, opts: {timeoutMs: number} & ParseOptions): Promise<ScrapeResult> {
  const started = nowMs()
  const elapsed = () => nowMs() - started
  let status: number | undefined
  let contentType: string | undefined
  try {
    const response = await fetch(url, {
      headers: {accept: ACCEPT},
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'follow',
    })
    status = response.status
    contentType = response.headers.get('content-type') ?? undefined
    const body = await response.text()
    if (status !== 200) {
      return {ok: false, kind: 'http_status', status, contentType, responseMs: elapsed(), message: `HTTP ${status} from ${url}`}
    }
    const parsed = parseExposition(body, {keepSample: opts.keepSample})
    if (!parsed.ok) {
      const what = contentType ? ` (content-type ${contentType})` : ''
      return {ok: false, kind: 'parse', status, contentType, responseMs: elapsed(), message: `not Prometheus text${what}: ${parsed.error}`}
    }
    return {ok: true, status, contentType, responseMs: elapsed(), bytes: Buffer.byteLength(body), exposition: parsed.exposition}
  } catch (error) {
    return {ok: false, ...classify(error, opts.timeoutMs), status, contentType, responseMs: elapsed()}
  }
}

function classify(error: unknown, timeoutMs: number): {kind: ScrapeFailureKind; message: string} {
  const err = error as {name?: string; message?: string; cause?: {code?: string; message?: string}}
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return {kind: 'timeout', message: `no complete response within ${timeoutMs} ms`}
  }
  const code = err?.cause?.code
  if (code) return {kind: 'connection', message: `${code}${err.cause?.message ? `: ${err.cause.message}` : ''}`}
  if (err?.name === 'TypeError' && /invalid url|failed to parse url/i.test(err.message ?? '')) {
    return {kind: 'other', message: `invalid URL: ${err.message}`}
  }
  if (err?.name === 'TypeError') return {kind: 'connection', message: err.cause?.message ?? err.message ?? 'fetch failed'}
  return {kind: 'other', message: err?.message ?? String(error)}
}
