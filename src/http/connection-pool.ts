/**
 * The measured path's connections: a fixed number of slots, each one HTTP/1.1 keep-alive connection
 * (http1-connection.ts) serving one request at a time. Owning the slot a request runs on tells the transport,
 * per request, whether it had to open a connection (`reusedConnection`), how long that connect took
 * (TCP + TLS, `connectMs`), and when the socket's latest read arrived (`readAtMs`).
 */
import {Http1Connection, type ConnectionTarget} from './http1-connection.js'
import {nowMs} from '../record/clock.js'

/**
 * Idle keep-alive sockets are closed after this long (or the server's `Keep-Alive: timeout` minus 1 s): before
 * the 5 s idle limit of uvicorn (vLLM, SGLang), Node and cpp-httplib (llama.cpp), so a request is rarely
 * written onto a socket the server is closing at that moment.
 */
const IDLE_SOCKET_MS = 4000

/** One connection's worth of state. */
export class Slot {
  constructor(readonly connection: Http1Connection) {}
  /** The exchange holding the slot: cancelled by {@link ConnectionPool.cancel} when `cancelSignal` aborts, told when its alarm is due. */
  holder: SlotHolder | undefined = undefined
  cancelSignal: AbortSignal | undefined = undefined
  /** When the holder's alarm is due (nowMs clock), or Infinity for never. */
  private alarmAtMs = Infinity
  /** The pending timer, and when it fires; it may fire before `alarmAtMs` (then it re-arms). */
  private timer: NodeJS.Timeout | undefined = undefined
  private timerAtMs = 0

  /**
   * Tells the holder once `atMs` (nowMs clock) has passed; Infinity disarms. The holder's deadlines (--timeout,
   * --first-token-timeout, the drain after a settled record) all go through this one timer per slot, armed
   * lazily: a timer already due earlier is left to fire and re-arm, so a request pays two stores, not a
   * setTimeout and a clearTimeout (a Timeout object and two timer-list edits per request otherwise).
   */
  alarm(atMs: number): void {
    this.alarmAtMs = atMs
    if (atMs === Infinity || (this.timer !== undefined && this.timerAtMs <= atMs)) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.arm(atMs)
  }

  /** Stops the timer (the pool is closing). */
  disarm(): void {
    this.alarmAtMs = Infinity
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private arm(atMs: number): void {
    this.timerAtMs = atMs
    // Node fires delays above 2^31 − 1 ms at once; a longer wait re-arms when that one ends.
    this.timer = setTimeout(this.ring, Math.min(Math.max(atMs - nowMs(), 1), 2 ** 31 - 1))
    // In-flight requests keep the process alive through their sockets; a deadline alone must not.
    this.timer.unref()
  }

  private readonly ring = (): void => {
    this.timer = undefined
    const atMs = this.alarmAtMs
    if (atMs === Infinity) return
    // Node's timers count whole loop-clock milliseconds, so one may fire a fraction of a millisecond early.
    if (nowMs() < atMs) return this.arm(atMs)
    this.alarmAtMs = Infinity
    this.holder?.alarmDue()
  }
}

/** What holds a slot for one exchange. */
export interface SlotHolder {
  /** The slot's `cancelSignal` aborted. */
  cancelled(): void
  /** The time last given to {@link Slot.alarm} has passed. */
  alarmDue(): void
}

export interface PoolOptions {
  /** `protocol://host:port` of the endpoint. */
  origin: string
  /** Most slots (connections) at once: the concurrency level. */
  maxSockets: number
  /** Skip TLS certificate verification. */
  insecure?: boolean
}

/** Slots up to `maxSockets`; a caller beyond that waits for the next release. */
export class ConnectionPool {
  private readonly slots: Slot[] = []
  private readonly idle: Slot[] = []
  private readonly waiting: ((slot: Slot) => void)[] = []
  private readonly target: ConnectionTarget
  private readonly maxSockets: number

  constructor(options: PoolOptions) {
    this.target = {url: new URL(options.origin), insecure: options.insecure ?? false, idleLimitMs: IDLE_SOCKET_MS}
    this.maxSockets = options.maxSockets
  }

  /** An idle slot (the most recently used: its socket is the likeliest to be open), a new one, or a wait for one. */
  acquire(): Slot | Promise<Slot> {
    const slot = this.idle.pop()
    if (slot) return slot
    if (this.slots.length < this.maxSockets) {
      const fresh = new Slot(new Http1Connection(this.target))
      this.slots.push(fresh)
      return fresh
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  /** The slot's exchange is over; its socket stays open for the next request. */
  release(slot: Slot): void {
    const next = this.waiting.shift()
    if (next) next(slot)
    else this.idle.push(slot)
  }

  /**
   * Closes the slot's socket now: for an exchange cut short (cancel, timeout) or resent after a stale keep-alive
   * socket. The next request on the slot opens a new connection.
   */
  reset(slot: Slot): void {
    slot.connection.abort()
  }

  /** Cancels the exchanges on slots that were given `signal` (see Slot.holder). */
  cancel(signal: AbortSignal): void {
    for (const slot of this.slots) if (slot.cancelSignal === signal) slot.holder?.cancelled()
  }

  async close(): Promise<void> {
    for (const slot of this.slots) {
      slot.disarm()
      slot.connection.abort()
    }
  }
}
