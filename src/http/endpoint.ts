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
