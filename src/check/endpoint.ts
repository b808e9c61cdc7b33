/** Pure URL helpers of `dual-bench check`; where a request goes is http/endpoint.ts's `resolveEndpoint`, shared with `run`. */

/** `host:port` with the scheme's default port spelled out, for "nothing listens on …" lines. */
export function hostPortOf(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return `${url.hostname}:${port}`
}
