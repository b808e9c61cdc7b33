import {resolveEndpoint, type ResolvedEndpoint} from '../http/endpoint.js'
import type {ApiKind} from '../http/transport.js'

/**
 * Pure URL handling for `dual-bench check`. A connection test is often given a base URL (seed 003's
 * MODEL_URL is `http://host/v1`), so a path that names no API is completed with the API's path instead of
 * rejected; `run` accepts the same forms (both use http/endpoint.ts).
 */

export {API_PATHS, apiOfPath} from '../http/endpoint.js'

/** Where the check sends its request, which API it speaks, and whether the path was completed here. */
export type CheckEndpoint = ResolvedEndpoint

/** Parses an --endpoint flag or MODEL_URL exactly as `run` does (see {@link resolveEndpoint}). */
export function resolveCheckEndpoint(value: string, api?: ApiKind, flag = '--endpoint'): CheckEndpoint {
  return resolveEndpoint(value, api, flag)
}

/** `host:port` with the scheme's default port spelled out, for "nothing listens on …" lines. */
export function hostPortOf(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return `${url.hostname}:${port}`
}
