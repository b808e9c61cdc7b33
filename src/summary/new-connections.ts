import type {RequestRecord} from '../record/record.js'

/**
 * Measured requests that had to open a connection, per round. Every level's connections are opened before its
 * clock starts, so a measured request that still paid for a TCP (+ TLS) connect means the server, or a proxy in
 * front of it, closed kept-alive connections (`Connection: close`, a short keep-alive timeout): that connect is
 * inside its TTFT, and the user should know. Pure apart from its own counters.
 */
export class NewConnections {
  private readonly rounds = new Map<string, {count: number; connectMs: number; timed: number}>()

  note(record: Pick<RequestRecord, 'level' | 'round' | 'reusedConnection' | 'connectMs'>): void {
    if (record.reusedConnection !== false) return
    const key = `${record.level}/${record.round}`
    const round = this.rounds.get(key) ?? {count: 0, connectMs: 0, timed: 0}
    round.count++
    if (record.connectMs !== undefined) {
      round.connectMs += record.connectMs
      round.timed++
    }
    this.rounds.set(key, round)
  }

  /** The round's warning, if any of its measured requests opened a connection; forgets the round. */
  takeWarning(level: number, round: number, requests: number): string | undefined {
    const key = `${level}/${round}`
    const found = this.rounds.get(key)
    this.rounds.delete(key)
    if (!found) return undefined
    const avg = found.timed > 0 ? `, ${(found.connectMs / found.timed).toFixed(1)} ms on average` : ''
    return (
      `Concurrency ${level} round ${round}: ${found.count} of ${requests} request(s) had to open a new connection (its connect is inside their TTFT${avg}); ` +
      'the server or a proxy closed kept-alive connections. See connect_ms / reused_connection in the round JSON.'
    )
  }
}
