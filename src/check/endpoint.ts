import {inputError} from '../errors.js'
import type {ApiKind} from '../http/transport.js'

/**
 * Pure URL handling for `dual-bench check`. A connection test is often given a base URL (seed 003's
 * MODEL_URL is `http://host/v1`), so a path that names no API is completed with the API's path instead of
 * being rejected as `run` does.
 */

/** The path each API is served at, below `/v1`. */
export const API_PATHS: Readonly<Record<ApiKind, string>> = {chat: '/chat/completions', completions: '/completions', responses: '/responses'}

/** The API a URL path names, or undefined when it names none. */
export function apiOfPath(url: URL): ApiKind | undefined {
  const path = url.pathname.replace(/\/+$/, '')
  if (path.endsWith(API_PATHS.chat)) return 'chat'
  if (path.endsWith(API_PATHS.completions)) return 'completions'
  if (path.endsWith(API_PATHS.responses)) return 'responses'
  return undefined
}

/** Where the check sends its request, which API it speaks, and whether the path was completed here. */
export interface CheckEndpoint {
  endpoint: URL
  api: ApiKind
  /** The given URL had no API path and `/v1/...` was appended. */
  completed: boolean
}

/**
 * Parses `value` (an --endpoint flag or MODEL_URL) into the URL to POST to. `api` (the --api flag) wins over
 * the path; without it the path decides, and a base URL (`http://h:8000`, `…/v1`) is completed with the chat
 * path. Throws an input error (exit 2) for a non-http(s) URL or an unknown path without --api.
 */
export function resolveCheckEndpoint(value: string, api?: ApiKind, flag = '--endpoint'): CheckEndpoint {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    throw inputError(`${flag} "${value}" is not a URL`, `${flag} http://localhost:8000/v1/chat/completions`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw inputError(`${flag} must be an http:// or https:// URL, got ${url.protocol}//`, `${flag} http://localhost:8000/v1/chat/completions`)
  }
  const named = apiOfPath(url)
  if (named !== undefined) return {endpoint: url, api: api ?? named, completed: false}

  const path = url.pathname.replace(/\/+$/, '')
  if (path === '' || path.endsWith('/v1')) {
    const kind = api ?? 'chat'
    const completed = new URL(url.href)
    completed.pathname = (path.endsWith('/v1') ? path : `${path}/v1`) + API_PATHS[kind]
    return {endpoint: completed, api: kind, completed: true}
  }
  if (api !== undefined) return {endpoint: url, api, completed: false}
  throw inputError(
    `${flag} ${url.origin}${url.pathname} does not end in /chat/completions, /completions or /responses, so the API to use is unknown`,
    `pass the full URL, e.g. ${flag} ${url.origin}/v1/chat/completions, or say which API it is with --api chat|completions|responses`,
  )
}

/** `host:port` with the scheme's default port spelled out, for "nothing listens on …" lines. */
export function hostPortOf(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return `${url.hostname}:${port}`
}
