/**
 * Control plane: unmeasured calls around a run (model list, prefix-cache reset). The only module that
 * imports ky; timing accuracy does not matter here, clear errors do. Every failure is one DualBenchError
 * line naming the URL and what to check; never a stack trace, never the API key.
 */
import https from 'node:https'
import ky, {TimeoutError} from 'ky'
import {DualBenchError, inputError} from '../errors.js'
import {errorMessageOf} from './openai-stream.js'
import {baseUrlOf, modelsUrlOf} from './endpoint.js'
import {clip} from './clip.js'

export {apiKindOf, baseUrlOf, modelsUrlOf} from './endpoint.js'

/** Options shared by control-plane calls. */
export interface ControlOptions {
  apiKey?: string
  timeoutMs: number
  /** Skip TLS certificate verification (--insecure). */
  insecure?: boolean
}

/** Model ids the server lists at `<base>/v1/models` (OpenAI `data[].id`; llama.cpp's `models[]` too). */
export async function listModels(endpoint: URL, opts: ControlOptions): Promise<string[]> {
  const url = modelsUrlOf(endpoint)
  const text = await call('GET', url, opts, 'Pass --model NAME, or check the --endpoint path.')
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    throw new DualBenchError('CONTROL_BAD_RESPONSE', `GET ${url} did not return JSON — is --endpoint an OpenAI-compatible server?`)
  }
  const ids: string[] = []
  const list = Array.isArray(body?.data) ? body.data : Array.isArray(body?.models) ? body.models : []
  for (const m of list) {
    const id = typeof m === 'string' ? m : (m?.id ?? m?.name ?? m?.model)
    if (typeof id === 'string' && id !== '' && !ids.includes(id)) ids.push(id)
  }
  return ids
}

/**
 * Empties the server's prefix cache so a level starts cold without a salt. `kind` is `vllm`
 * (POST `<root>/reset_prefix_cache`), `sglang` (POST `<root>/flush_cache`) or a full URL to POST to.
 */
export async function resetPrefixCache(kind: 'vllm' | 'sglang' | string, endpoint: URL, opts: ControlOptions): Promise<void> {
  const url = resetUrlOf(kind, endpoint)
  const hint =
    kind === 'vllm'
      ? 'vLLM serves /reset_prefix_cache only when started with VLLM_SERVER_DEV_MODE=1; or use the default salted cold start.'
      : kind === 'sglang'
        ? 'Check that the SGLang server exposes /flush_cache at this address.'
        : 'Check the --cache-reset URL.'
  await call('POST', url, opts, hint)
}

/** The URL a cache reset is POSTed to. */
export function resetUrlOf(kind: string, endpoint: URL): URL {
  if (kind === 'vllm') return new URL(baseUrlOf(endpoint) + '/reset_prefix_cache')
  if (kind === 'sglang') return new URL(baseUrlOf(endpoint) + '/flush_cache')
  try {
    const url = new URL(kind)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url
  } catch {
    // fall through to the input error
  }
  throw inputError(`--cache-reset must be vllm, sglang or an http(s) URL, got "${kind}"`)
}

/** One request; resolves to the body text of a 2xx response, otherwise throws a one-line DualBenchError. */
async function call(method: 'GET' | 'POST', url: URL, opts: ControlOptions, hint: string): Promise<string> {
  const headers: Record<string, string> = {Accept: 'application/json'}
  if (opts.apiKey) headers.Authorization = `Bearer ${opts.apiKey}`
  const redact = (s: string) => (opts.apiKey ? s.split(opts.apiKey).join('***') : s).replace(/(Bearer\s+)\S+/gi, '$1***')
  let status: number
  let text: string
  try {
    const response = await ky(url, {
      method,
      headers,
      timeout: opts.timeoutMs,
      retry: 0,
      throwHttpErrors: false,
      ...(opts.insecure && url.protocol === 'https:' ? {fetch: insecureFetch} : {}),
    })
    status = response.status
    text = await response.text()
  } catch (err) {
    if (err instanceof TimeoutError) {
      throw new DualBenchError('CONTROL_TIMEOUT', `${method} ${url} did not answer within ${opts.timeoutMs} ms — is the server up and not overloaded? check --endpoint`)
    }
    throw new DualBenchError('ENDPOINT_UNREACHABLE', redact(unreachableLine(err, url)))
  }
  if (status < 200 || status >= 300) {
    throw new DualBenchError('CONTROL_HTTP_ERROR', redact(httpFailureLine(`${method} ${url} returned HTTP ${status}`, status, text, hint)))
  }
  return text
}

function httpFailureLine(what: string, status: number, body: string | undefined, hint: string): string {
  let message: string | undefined
  if (body) {
    try {
      message = errorMessageOf(JSON.parse(body))
    } catch {
      message = body.trim() || undefined
    }
  }
  const detail = message ? `: ${clip(message)}` : ''
  const advice = status === 401 || status === 403 ? 'check --api-key / OPENAI_API_KEY' : hint
  return `${what}${detail} — ${advice}`
}

/** Connection-level failures, from fetch's `TypeError('fetch failed', {cause})` or from insecureFetch. */
function unreachableLine(err: unknown, url: URL): string {
  const code = errorCodeOf(err)
  const target = url.origin
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${target} (connection refused) — is the server running? check --endpoint`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${target} (host not found) — check the host name in --endpoint`
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `${target} closed the connection (${code}) — is it an HTTP server? check --endpoint (http vs https)`
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `cannot reach ${target} (${code}) — check --endpoint and the network`
  }
  if (code && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code === 'EPROTO')) {
    return `TLS with ${target} failed (${code}) — for a self-signed certificate pass --insecure; for a plain-HTTP server use http://`
  }
  const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)
  return `cannot reach ${target} (${code ?? clip(message)}) — check --endpoint`
}

function errorCodeOf(err: unknown): string | undefined {
  let e: any = err
  for (let depth = 0; e != null && depth < 4; depth++) {
    if (typeof e.code === 'string' && e.code !== '') return e.code
    if (Array.isArray(e.errors) && typeof e.errors[0]?.code === 'string') return e.errors[0].code
    e = e.cause
  }
  return undefined
}

/**
 * A minimal fetch over node:https with certificate checks off, for --insecure. Node's built-in fetch takes
 * TLS options only through a dispatcher of the undici build inside Node, which is not the undici package the
 * measured path uses; control-plane bodies are tiny, so buffering the whole response is fine.
 */
async function insecureFetch(resource: Request | URL | string, init?: RequestInit): Promise<Response> {
  const input = resource instanceof Request ? resource : new Request(resource, init)
  const body = input.body ? Buffer.from(await input.arrayBuffer()) : undefined
  const headers: Record<string, string> = {}
  input.headers.forEach((value, key) => {
    headers[key] = value
  })
  if (body) headers['content-length'] = String(body.length)
  return new Promise<Response>((resolve, reject) => {
    const req = https.request(input.url, {method: input.method, headers, rejectUnauthorized: false, signal: input.signal}, (res) => {
      const parts: Buffer[] = []
      res.on('data', (b: Buffer) => parts.push(b))
      res.on('end', () => {
        const responseHeaders = new Headers()
        for (const [key, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') responseHeaders.set(key, value)
          else if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v)
        }
        const status = res.statusCode ?? 500
        const nullBody = status === 204 || status === 205 || status === 304
        resolve(new Response(nullBody ? null : Buffer.concat(parts), {status, statusText: res.statusMessage, headers: responseHeaders}))
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
