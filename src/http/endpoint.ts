import {inputError} from '../errors.js'
import type {ApiKind} from './transport.js'

/**
 * Pure URL arithmetic on the --endpoint URL. Kept apart from control.ts so the measured transport can
 * use it without pulling ky into its import graph.
 */

const CHAT_SUFFIX = '/chat/completions'
const COMPLETIONS_SUFFIX = '/completions'

function trimmedPath(endpoint: URL): string {
  return endpoint.pathname.replace(/\/+$/, '')
}

/**
 * The server root: `scheme://host:port` plus any path prefix before `/v1/` (a reverse proxy may mount
 * the server under `/llm/v1/...`). Without a `/v1/` segment, the endpoint path minus its
 * `/chat/completions` or `/completions` suffix. Never ends with a slash.
 */
export function baseUrlOf(endpoint: URL): string {
  const path = trimmedPath(endpoint)
  const v1 = path.indexOf('/v1/')
  let prefix: string
  if (v1 >= 0) prefix = path.slice(0, v1)
  else if (path.endsWith(CHAT_SUFFIX)) prefix = path.slice(0, -CHAT_SUFFIX.length)
  else if (path.endsWith(COMPLETIONS_SUFFIX)) prefix = path.slice(0, -COMPLETIONS_SUFFIX.length)
  else prefix = path
  return endpoint.origin + prefix
}

/** Where the model list lives: `<base>/v1/models`, or `<base>/models` for an endpoint without `/v1/`. */
export function modelsUrlOf(endpoint: URL): URL {
  const hasV1 = trimmedPath(endpoint).includes('/v1/')
  return new URL(baseUrlOf(endpoint) + (hasV1 ? '/v1/models' : '/models'))
}

/** The path each API is served at, below `/v1`. */
export const API_PATHS: Readonly<Record<ApiKind, string>> = {chat: CHAT_SUFFIX, completions: COMPLETIONS_SUFFIX, responses: '/responses'}

/** The API a URL path names (a trailing slash ignored), or undefined when it names none. */
export function apiOfPath(url: URL): ApiKind | undefined {
  const path = trimmedPath(url)
  if (path.endsWith(API_PATHS.chat)) return 'chat'
  if (path.endsWith(API_PATHS.completions)) return 'completions'
  if (path.endsWith(API_PATHS.responses)) return 'responses'
  return undefined
}

/** Where requests go, which API they speak, and whether the path was completed from a base URL. */
export interface ResolvedEndpoint {
  endpoint: URL
  api: ApiKind
  /** The given URL had no API path and `/v1/...` was appended. */
  completed: boolean
}

/**
 * Parses `value` (an --endpoint flag or MODEL_URL) into the URL to POST to; shared by `run` and `check` so
 * both accept the same forms. `api` (the --api flag) wins over the path; without it the path decides. A
 * base URL (`http://h:8000`, `…/v1`, `…/v1/`) is completed with `/v1` plus the API's path, because seed
 * 003's MODEL_URL and most client libraries take a base URL. A full path is kept as given. Throws an input
 * error (exit 2) for a non-http(s) URL, or an unknown path without --api.
 */
export function resolveEndpoint(value: string, api?: ApiKind, flag = '--endpoint'): ResolvedEndpoint {
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

  const path = trimmedPath(url)
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

/**
 * Which API the endpoint path names. Throws an input error (exit 2) for a path that is neither, since
 * guessing would send a body the server rejects on every request.
 */
export function apiKindOf(endpoint: URL): ApiKind {
  const path = trimmedPath(endpoint)
  if (path.endsWith(CHAT_SUFFIX)) return 'chat'
  if (path.endsWith(COMPLETIONS_SUFFIX)) return 'completions'
  if (path.endsWith('/responses')) return 'responses'
  throw inputError(
    `--endpoint ${endpoint.origin}${endpoint.pathname} does not end in /chat/completions, /completions or /responses, so the API to use is unknown (or pass --api)`,
    `pass the full URL, e.g. --endpoint ${endpoint.origin}/v1/chat/completions`,
  )
}
