/**
 * Pure diagnosis for `dual-bench check`: what went wrong (from a control-plane error or a request record)
 * and what to do about it, as short lines. No I/O; the facts come from run-check.ts.
 */
import {DualBenchError} from '../errors.js'
import type {ApiKind} from '../http/transport.js'
import type {RequestRecord} from '../record/record.js'
import {hostPortOf} from './endpoint.js'

/** What kind of failure a step met; each kind has its own advice. */
export type ProblemKind =
  | 'auth' // 401/403
  | 'not_found' // 404
  | 'refused' // ECONNREFUSED
  | 'dns' // ENOTFOUND / EAI_AGAIN
  | 'tls' // certificate not trusted / expired / wrong name
  | 'plain_http' // https:// to a server that speaks plain HTTP
  | 'reset' // the peer closed the connection
  | 'unreachable' // routing / connect timeout
  | 'timeout' // --timeout
  | 'bad_request' // other 4xx
  | 'server_error' // 5xx
  | 'not_json' // the models list was not JSON
  | 'stream_cut'
  | 'malformed_stream'
  | 'error_event'
  | 'other'

/** One classified failure. `detail` is the server's or the system's own words (already key-free). */
export interface Problem {
  kind: ProblemKind
  status?: number
  /** System error code such as ECONNREFUSED or DEPTH_ZERO_SELF_SIGNED_CERT. */
  code?: string
  detail: string
}

/** One line of the verdict. */
export interface DiagnosisLine {
  level: 'ok' | 'warn' | 'error'
  text: string
}

/** Everything the check found out, as the diagnosis needs it. */
export interface CheckFacts {
  endpoint: URL
  api: ApiKind
  modelsUrl: URL
  apiKeySent: boolean
  insecure: boolean
  timeoutMs: number
  models: {ok: true; ids: string[]} | {ok: false; problem: Problem}
  model?: string
  modelSource?: 'flag' | 'env' | 'server'
  /** The measured request; undefined when it was not sent. */
  record?: RequestRecord
  /** The first attempt was rejected for its stream_options and the request was resent without them. */
  streamOptionsRejected?: boolean
}

const SYSTEM_CODE_RE = /\b(E[A-Z]{3,}|ERR_[A-Z_]+|[A-Z_]*CERT[A-Z_]*|UND_ERR_[A-Z_]+)\b/

/** Turns a system error code (and, failing that, the message) into a problem kind. */
function kindOfSystemError(code: string | undefined, message: string): ProblemKind {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'UND_ERR_SOCKET':
      return 'reset'
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'unreachable'
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return 'plain_http'
  }
  if (/wrong version number|packet length too long/i.test(message)) return 'plain_http'
  if ((code && /CERT|^ERR_TLS|^ERR_SSL/.test(code)) || /certificate/i.test(message)) return 'tls'
  if (/connection refused/i.test(message)) return 'refused'
  if (/host not found/i.test(message)) return 'dns'
  if (/closed the connection/i.test(message)) return 'reset'
  return 'other'
}

function kindOfStatus(status: number): ProblemKind {
  if (status === 401 || status === 403) return 'auth'
  if (status === 404) return 'not_found'
  if (status >= 500) return 'server_error'
  return 'bad_request'
}

/** Classifies a failed request record; undefined for a successful one. */
export function problemOfRecord(record: RequestRecord): Problem | undefined {
  if (record.ok || !record.error) return undefined
  const {category, message, httpStatus} = record.error
  switch (category) {
    case 'http_4xx':
    case 'http_5xx':
      return {kind: kindOfStatus(httpStatus ?? (category === 'http_5xx' ? 500 : 400)), status: httpStatus, detail: message}
    case 'timeout':
    case 'first_token_timeout':
      return {kind: 'timeout', detail: message}
    case 'stream_cut':
      return {kind: 'stream_cut', detail: message}
    case 'malformed_sse':
      return {kind: 'malformed_stream', detail: message}
    case 'server_error_event':
      return {kind: 'error_event', detail: message}
    case 'connection': {
      const code = SYSTEM_CODE_RE.exec(message)?.[1]
      const kind = kindOfSystemError(code, message)
      return {kind: kind === 'other' ? 'unreachable' : kind, code, detail: message}
    }
    default:
      return {kind: 'other', detail: message}
  }
}

/**
 * Classifies an error thrown by the control plane (`listModels`): its DualBenchError code says which step
 * failed, and its one-line message carries the HTTP status or system error code.
 */
export function problemOfControlError(err: unknown): Problem {
  const message = err instanceof Error ? err.message : String(err)
  if (!(err instanceof DualBenchError)) return {kind: 'other', detail: message}
  switch (err.code) {
    case 'CONTROL_TIMEOUT':
      return {kind: 'timeout', detail: message}
    case 'CONTROL_BAD_RESPONSE':
      return {kind: 'not_json', detail: message}
    case 'CONTROL_HTTP_ERROR': {
      const m = /returned HTTP (\d{3})(?:: (.*?))?(?: — |$)/.exec(message)
      const status = m ? Number(m[1]) : 0
      return {kind: status ? kindOfStatus(status) : 'other', status: status || undefined, detail: m?.[2] ?? message}
    }
    case 'ENDPOINT_UNREACHABLE': {
      const code = /\(([A-Z][A-Z0-9_]+)\)/.exec(message)?.[1] ?? SYSTEM_CODE_RE.exec(message)?.[1]
      const kind = kindOfSystemError(code, message)
      return {kind: kind === 'other' ? 'unreachable' : kind, code, detail: message}
    }
    default:
      return {kind: 'other', detail: message}
  }
}

/** True when the same host would fail any request the same way, so sending the measured request is pointless. */
export function isConnectionProblem(problem: Problem): boolean {
  return ['refused', 'dns', 'tls', 'plain_http', 'unreachable'].includes(problem.kind)
}

/** The server's words, or nothing when they would only repeat the status. */
function detailSuffix(p: Problem): string {
  const d = p.detail.trim()
  if (d === '' || /^HTTP \d{3}\b/.test(d)) return ''
  return `: ${d}`
}

/**
 * Lines explaining one problem. `what` names the step ("GET …/v1/models", "POST …/v1/chat/completions").
 */
export function problemLines(p: Problem, what: string, facts: CheckFacts, level: 'warn' | 'error' = 'error'): DiagnosisLine[] {
  const url = facts.endpoint
  const hostPort = hostPortOf(url)
  const line = (text: string): DiagnosisLine => ({level, text})
  const ids = facts.models.ok ? facts.models.ids : undefined
  switch (p.kind) {
    case 'auth': {
      const said = detailSuffix(p) ? ` (${p.detail.trim()})` : ''
      const out = [line(`${what} returned HTTP ${p.status}${said}: the server rejected the API key — check --api-key / OPENAI_API_KEY / .env MODEL_KEY`)]
      if (!facts.apiKeySent) out.push(line('no API key was sent: pass --api-key KEY, set OPENAI_API_KEY, or put MODEL_KEY=… in ./.env'))
      return out
    }
    case 'not_found': {
      if (what.startsWith('GET')) {
        return [line(`${what} returned HTTP 404: the server has no model list there — check the path of --endpoint (the list is expected at ${facts.modelsUrl.pathname})`)]
      }
      const aboutModel = /model/i.test(p.detail) || (ids !== undefined && facts.model !== undefined && ids.length > 0 && !ids.includes(facts.model))
      if (aboutModel) {
        const out = [line(`${what} returned HTTP 404: the server has no model "${facts.model ?? ''}"${detailSuffix(p)}`)]
        out.push(line(ids && ids.length > 0 ? `the server has: ${ids.join(', ')} — pass --model ${ids[0]}` : 'pass --model with a name the server serves (see its /v1/models)'))
        return out
      }
      const out = [line(`${what} returned HTTP 404: wrong path — this server does not serve ${url.pathname}${detailSuffix(p)}`)]
      out.push(line(`try --endpoint ${url.origin}/v1/chat/completions (or …/v1/completions, …/v1/responses with --api)`))
      if (ids && ids.length > 0) out.push(line(`the server does answer at ${facts.modelsUrl.pathname} and has: ${ids.join(', ')}`))
      return out
    }
    case 'refused':
      return [line(`nothing listens on ${hostPort} (connection refused) — is the server running, and are the host and port in --endpoint right?`)]
    case 'dns':
      return [line(`the host name "${url.hostname}" could not be resolved (${p.code ?? 'host not found'}) — check the host in --endpoint`)]
    case 'tls':
      return [
        line(`the TLS certificate of ${hostPort} was not accepted (${p.code ?? 'certificate error'})${facts.insecure ? ' even with --insecure' : ''}`),
        line(
          facts.insecure
            ? 'check that the server speaks TLS on this port, or use http://'
            : 'if this is a test server with a self-signed certificate, pass --insecure (only for such servers); otherwise fix the certificate or the host name',
        ),
      ]
    case 'plain_http':
      return [line(`TLS with ${hostPort} failed (${p.code ?? 'protocol error'}): the server probably speaks plain HTTP — use http:// in --endpoint`)]
    case 'reset':
      return [line(`${hostPort} closed the connection (${p.code ?? 'reset'}) — is it an HTTP server? check http vs https and the port in --endpoint`)]
    case 'unreachable':
      return [line(`cannot reach ${hostPort} (${p.code ?? 'network error'}) — check the host and port in --endpoint and the network or firewall in between`)]
    case 'timeout':
      return [line(`${what}: no complete answer within ${facts.timeoutMs / 1000} s (--timeout) — the server may be overloaded or still loading the model; try a larger --timeout`)]
    case 'bad_request':
      return [line(`${what} returned HTTP ${p.status}: the server rejected the request${detailSuffix(p)} — check --api (this request used the ${facts.api} API) and --model`)]
    case 'server_error':
      return [line(`${what} returned HTTP ${p.status}: the server failed${detailSuffix(p)} — see the server's log`)]
    case 'not_json':
      return [line(`${what} did not return JSON — is --endpoint an OpenAI-compatible server?`)]
    case 'stream_cut': {
      const out = [line(`the stream ended before it completed${detailSuffix(p)}`)]
      if ((facts.record?.contentChunks ?? 0) === 0) {
        out.push(line(`no text arrived as ${facts.api} events — if the server speaks another API, pass --api chat|completions|responses`))
      }
      return out
    }
    case 'malformed_stream':
      return [line(`the server sent a stream line that is not JSON${detailSuffix(p)} — is it an OpenAI-compatible streaming server?`)]
    case 'error_event':
      return [line(`the server reported an error inside the stream${detailSuffix(p)}`)]
    default:
      return [line(`${what} failed${detailSuffix(p)}`)]
  }
}

/** The verdict: problems with advice, warnings about what a benchmark would miss, and a final ok/error line. */
export function diagnose(facts: CheckFacts): DiagnosisLine[] {
  const out: DiagnosisLine[] = []
  const record = facts.record
  const requestOk = record?.ok === true
  const post = `POST ${facts.endpoint.pathname}`

  if (!facts.models.ok) {
    const p = facts.models.problem
    // When the request fails the same way, one explanation is enough (a 404 means different things on each).
    const sameAsRequest = p.kind !== 'not_found' && record && !record.ok && problemOfRecord(record)?.kind === p.kind
    if (!sameAsRequest) out.push(...problemLines(p, `GET ${facts.modelsUrl.pathname}`, facts, requestOk ? 'warn' : 'error'))
    if (requestOk && facts.modelSource !== 'server') out.push({level: 'warn', text: 'the model list is unavailable, so runs need --model (or MODEL_NAME in .env)'})
  } else if (facts.models.ids.length === 0) {
    out.push({level: 'warn', text: `GET ${facts.modelsUrl.pathname} listed no models — pass --model NAME for runs`})
  } else if (facts.model !== undefined && facts.modelSource !== 'server' && !facts.models.ids.includes(facts.model) && requestOk) {
    out.push({level: 'warn', text: `model "${facts.model}" is not in the server's list (${facts.models.ids.join(', ')}), though the server accepted it`})
  }

  if (!record && !facts.models.ok && isConnectionProblem(facts.models.problem)) {
    out.push({level: 'error', text: `the test request was not sent: ${hostPortOf(facts.endpoint)} is not reachable`})
    return out
  }
  if (facts.model === undefined) {
    const why = facts.models.ok ? 'the server listed none' : 'the model list is unavailable'
    out.push({level: 'error', text: `no model to ask: ${why} — pass --model NAME (or set MODEL_NAME in ./.env)`})
    return out
  }
  if (!record) return out

  if (!record.ok) {
    const p = problemOfRecord(record) ?? {kind: 'other' as const, detail: 'the request failed'}
    out.push(...problemLines(p, post, facts))
    return out
  }

  if (facts.streamOptionsRejected) {
    out.push({level: 'warn', text: 'the server rejects stream_options: runs resend without it and count stream chunks as output tokens'})
  }
  if (record.chunkOffsetsMs === undefined) {
    out.push({
      level: 'warn',
      text: 'the server answered stream: true with one JSON body, not an SSE stream: it does not stream, so TTFT and ITL cannot be measured (only latency)',
    })
  } else if ((record.contentChunks ?? 0) === 0) {
    out.push({level: 'warn', text: `the stream completed without any text — check --api (the request used the ${facts.api} API) and that the model generates`})
  }
  if (record.outputTokensSource === 'chunks') {
    out.push({level: 'warn', text: 'the server reported no token usage: output tokens are counted as stream chunks (approximate) and cached tokens are unknown'})
  } else if (record.cachedTokens === undefined) {
    out.push({level: 'warn', text: 'the server reports no cached-token count: the warm/cold comparison will rely on TTFT (and --prometheus-url metrics) alone'})
  }
  out.push({level: 'ok', text: `the endpoint works: ${record.chunkOffsetsMs === undefined ? 'answered' : 'streamed a reply'} from model "${facts.model}"`})
  return out
}
