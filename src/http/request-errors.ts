/**
 * Pure: how a failed exchange becomes a record's `error` — HTTP status + body, socket/TLS error codes —
 * and the redaction every message passes through before it is stored.
 */
import type {RequestError, RequestRecord} from '../record/record.js'
import {clip} from './clip.js'
import {errorMessageOf} from './openai-stream.js'

/** The code of the error a request gets when its socket closes before the response completed (http1-connection.ts). */
export const SOCKET_CLOSED = 'ERR_SOCKET_CLOSED_EARLY'

/** Headers of a non-2xx answer that its error keeps. */
export interface ErrorHeaders {
  /** `Location` of a redirect, resolved against `endpoint`. */
  location?: string
  endpoint: URL
  /** `Retry-After` as sent (seconds or an HTTP date). */
  retryAfter?: string
}

/**
 * A non-2xx answer: the server's own message when its body has one (OpenAI error object, FastAPI detail, text).
 * A redirect also keeps its `Location` (absolute, resolved against `endpoint`) so the run can say which URL to use;
 * a rate limit or overload keeps its `Retry-After`, which --retries honours.
 */
export function httpError(status: number, statusMessage: string | undefined, bodyText: string, headers?: ErrorHeaders, nowEpochMs = Date.now()): RequestError {
  let message: string | undefined
  try {
    message = errorMessageOf(JSON.parse(bodyText))
  } catch {
    message = bodyText.trim() || undefined
  }
  const location = status >= 300 && status < 400 && headers?.location ? absoluteUrl(headers.location, headers.endpoint) : undefined
  const note = status >= 300 && status < 400 ? ` (a redirect${location ? ` to ${location}` : ''}: not followed, POST bodies are not re-sent; put the URL it points to in --endpoint)` : ''
  message = clip((message ?? `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`) + note)
  const category = status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'other'
  const error: RequestError = location ? {category, message, httpStatus: status, location} : {category, message, httpStatus: status}
  const retryAfterMs = headers?.retryAfter ? parseRetryAfter(headers.retryAfter, nowEpochMs) : undefined
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs
  return error
}

/**
 * A `Retry-After` value in ms from now: delta-seconds, or an HTTP date (RFC 9110 §10.2.3); undefined when it is
 * neither. A date in the past is 0.
 */
export function parseRetryAfter(value: string, nowEpochMs: number): number | undefined {
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Only a date names its weekday or month; Date.parse alone would also read "1.5" or "-1" as a year.
  if (!/[a-z]/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowEpochMs)
}

function absoluteUrl(location: string, base: URL): string | undefined {
  try {
    return new URL(location, base).toString()
  } catch {
    return undefined
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'ECONNABORTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  // The socket closed under a request: ours (http1-connection.ts), or undici's ("other side closed").
  SOCKET_CLOSED,
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** Errors on a kept-alive socket that mean "the server had already closed it": nothing was processed. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', SOCKET_CLOSED, 'UND_ERR_SOCKET'])

/** True when a request that failed like this on a reused keep-alive socket may safely be resent once. */
export function isStaleSocketError(err: NodeJS.ErrnoException): boolean {
  return STALE_SOCKET_CODES.has(err.code ?? '')
}

/** Before any response: refused/reset/DNS/TLS → connection; anything else → other. */
export function classifyRequestError(err: NodeJS.ErrnoException): RequestError {
  const code = err.code ?? ''
  const isConnection = CONNECTION_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('CERT_')
  return {category: isConnection ? 'connection' : 'other', message: clip(describeError(err))}
}

/** "CODE: message", with the message of the first attempt when Node's dual-stack connect wraps them (AggregateError, empty message). */
export function describeError(err: NodeJS.ErrnoException): string {
  const code = err.code ?? ''
  const inner = (err as NodeJS.ErrnoException & {errors?: Error[]}).errors?.[0]?.message
  const message = err.message || inner || 'unknown error'
  if (code === SOCKET_CLOSED) return message
  if (code === 'UND_ERR_SOCKET') return `connection closed by the server (${message})`
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

/** A 400/422 whose message is the server's own: the kind of answer a rejected request field gets. */
function rejectedField(record: RequestRecord): string | undefined {
  const error = record.error
  if (record.ok || !error || error.category !== 'http_4xx') return undefined
  if (error.httpStatus !== 400 && error.httpStatus !== 422) return undefined
  return error.message
}

/**
 * True for a rejection of `stream_options` itself: a 400/422 whose message names stream_options or
 * include_usage (pydantic's "Extra inputs are not permitted" counts only with `loc` naming the field, as
 * errorMessageOf renders it; the same wording about another field is not ours to work around). The caller
 * then resends without `stream_options` and counts chunks instead.
 */
export function isStreamOptionsRejection(record: RequestRecord): boolean {
  const message = rejectedField(record)
  return message !== undefined && /stream_options|include_usage/i.test(message)
}

/**
 * True when the server rejects `max_tokens` and names `max_completion_tokens` as the field to use (OpenAI's
 * reasoning models: "Unsupported parameter: 'max_tokens' … Use 'max_completion_tokens' instead."). The
 * caller then resends with `max_completion_tokens`.
 */
export function isMaxTokensRejection(record: RequestRecord): boolean {
  const message = rejectedField(record)
  return message !== undefined && /\bmax_tokens\b/i.test(message) && /max_completion_tokens/i.test(message)
}

/** True for a 3xx answer: the request was redirected, which the measured client never follows. */
export function isRedirect(record: RequestRecord): boolean {
  const status = record.error?.httpStatus
  return !record.ok && status !== undefined && status >= 300 && status < 400
}

/**
 * What to tell the user about a redirected POST. Redirects are not followed because a 301/302/303 turns a
 * POST into a GET without the body, and following a 307 would time the detour; the URL the server points
 * to belongs in --endpoint instead. `location`: the absolute URL of the `Location` header (the record
 * error's `location`), undefined when the server sent none.
 */
export function redirectAdvice(endpoint: URL, status: number, location: string | undefined): string {
  if (location === undefined) {
    return `The server redirects ${endpoint} (HTTP ${status}) and POST bodies are not re-sent across redirects: use the URL it redirects to in --endpoint (often the same path without a trailing slash).`
  }
  return `The server redirects ${endpoint} to ${location} (HTTP ${status}); POST bodies are not re-sent across redirects, so use that URL: --endpoint ${location}`
}

/** Masks `Bearer <token>` and the API key (also a key cut in two by clipping) in a message or preview. */
export function makeRedactor(apiKey: string | undefined): (message: string) => string {
  return (message) => {
    let out = message.replace(/(Bearer\s+)\S+/gi, '$1***')
    if (apiKey && apiKey.length > 0) {
      out = out.split(apiKey).join('***')
      // Messages and previews are clipped to a length before they get here, which can cut a key in two: mask a
      // tail that is the start of the key (4+ characters), with or without the clipping ellipsis.
      const tail = /…$/.test(out) ? out.slice(0, -1) : out
      for (let n = Math.min(apiKey.length - 1, tail.length); n >= 4; n--) {
        if (tail.endsWith(apiKey.slice(0, n))) {
          out = `${tail.slice(0, -n)}***${out.endsWith('…') ? '…' : ''}`
          break
        }
      }
    }
    return out
  }
}

/**
 * A usable setTimeout delay, or undefined for "no limit" (0, negative, Infinity, NaN). Node fires delays
 * above 2^31−1 ms immediately, so those are clamped rather than turned into instant timeouts.
 */
export function timerDelay(ms: number | undefined): number | undefined {
  if (ms === undefined || !(ms > 0) || ms === Infinity) return undefined
  return Math.min(ms, 2 ** 31 - 1)
}
