import type {RoundSummary} from './round-summary.js'

/**
 * Pure: the round's warning when measured requests had to open a connection. Every level's connections are opened
 * before its clock starts, so one that still paid for a TCP (+ TLS) connect means the server, or a proxy in front of
 * it, closed kept-alive connections (`Connection: close`, a short keep-alive timeout): that connect is inside its
 * TTFT, and the user should know.
 */
export function newConnectionsWarning(summary: Pick<RoundSummary, 'concurrency' | 'round' | 'total_requests' | 'connections'>): string | undefined {
  const c = summary.connections
  if (!c || c.opened === 0) return undefined
  const avg = c.connect_ms.avg !== null ? `, ${c.connect_ms.avg.toFixed(1)} ms on average` : ''
  return (
    `Concurrency ${summary.concurrency} round ${summary.round}: ${c.opened} of ${summary.total_requests} request(s) had to open a new connection (its connect is inside their TTFT${avg}); ` +
    'the server or a proxy closed kept-alive connections. See connections in the round JSON, and connect_ms / reused_connection per request.'
  )
}
