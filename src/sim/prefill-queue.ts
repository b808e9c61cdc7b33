import {performance} from 'node:perf_hooks'
import type {Scheduler, Timer} from './scheduler.js'

/** One request's prefill. `start` runs when the "GPU" takes the job and returns its duration in ms. */
export interface PrefillJob {
  start(): number
  done(): void
}

/** Handle to withdraw a job (client went away): a waiting job leaves the queue, a running one frees the GPU. */
export interface PrefillTicket {
  cancel(): void
}

interface Slot {
  job: PrefillJob
  timer?: Timer
  state: 'waiting' | 'running' | 'over'
}

/**
 * Prefill scheduling. Serial mode models one GPU that prefills one request at a time (so cold TTFT grows
 * with concurrency, as on a real server); parallel mode starts every job at once. The cache lookup happens
 * in `start`, i.e. when the job is actually scheduled, so a request queued behind an identical one hits.
 */
export class PrefillQueue {
  private readonly waiting: Slot[] = []
  private readonly running = new Set<Slot>()
  private gpuFreeAt = 0

  constructor(private readonly scheduler: Scheduler, private readonly serial: boolean) {}

  submit(job: PrefillJob): PrefillTicket {
    const slot: Slot = {job, state: 'waiting'}
    if (this.serial) {
      this.waiting.push(slot)
      this.pump()
    } else {
      this.run(slot)
    }
    return {cancel: () => this.cancel(slot)}
  }

  /** Jobs queued but not yet prefilling (vllm:num_requests_waiting). */
  get waitingCount(): number {
    return this.waiting.length
  }

  /** Jobs prefilling now. */
  get prefillingCount(): number {
    return this.running.size
  }

  /** Drops every job without calling `done` (server closing). */
  clear(): void {
    for (const s of [...this.waiting, ...this.running]) {
      s.timer?.cancel()
      s.state = 'over'
    }
    this.waiting.length = 0
    this.running.clear()
  }

  private run(slot: Slot): void {
    slot.state = 'running'
    this.running.add(slot)
    // In serial mode the next job starts when the previous one was *due* to end (virtual GPU time), not when
    // its timer happened to fire; otherwise timer granularity (~1 ms) would cap the queue at ~1000 jobs/s.
    const now = performance.now()
    const start = this.serial ? Math.max(now, this.gpuFreeAt) : now
    const due = start + slot.job.start()
    if (this.serial) this.gpuFreeAt = due
    slot.timer = this.scheduler.at(due, () => {
      slot.state = 'over'
      this.running.delete(slot)
      slot.job.done()
      this.pump()
    })
  }

  private pump(): void {
    while (this.serial && this.running.size === 0 && this.waiting.length > 0) this.run(this.waiting.shift() as Slot)
  }

  private cancel(slot: Slot): void {
    if (slot.state === 'waiting') {
      this.waiting.splice(this.waiting.indexOf(slot), 1)
    } else if (slot.state === 'running') {
      slot.timer?.cancel()
      this.running.delete(slot)
      this.gpuFreeAt = performance.now()
      this.pump()
    }
    slot.state = 'over'
  }
}
