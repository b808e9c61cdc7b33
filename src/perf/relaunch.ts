import {spawn} from 'node:child_process'
import {availableParallelism, constants} from 'node:os'
import v8 from 'node:v8'
import {poolSizeOption, RELAUNCHED_ENV} from './v8-pool.js'

/** What the parent passes on. Ctrl-C reaches only the parent: the child has a session of its own (see below). */
const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGWINCH'] as const

/**
 * The child's other V8 option. V8's memory reducer shrinks the heap of a process that has gone quiet, and a measuring
 * process at concurrency 1 against a 100 tokens/s server allocates so little that it counts as quiet: traced
 * (--trace-gc), an incremental mark-compact of 66 steps and a 2.5 ms pause on the measuring thread inside a request.
 * The child's heap is bounded by design (records go to disk); there is nothing worth reducing while it measures.
 */
const CHILD_V8_OPTIONS = ['--no-memory-reducer']

/**
 * Runs this script again in a child Node with the V8 helper pool a measuring process needs (see v8-pool.ts), when
 * Node's own differs, and without V8's memory reducer; returns true if it did, and this process then only relays until
 * the child exits, with its exit code or signal. Node has no way to resize the pool once started, so a child process
 * is the only way. Call it before loading much: the relay keeps whatever it loaded.
 *
 * The child gets a session of its own (detached), so a terminal's Ctrl-C reaches the parent alone and is relayed
 * once: in one process group both would get it, and the child would count a second Ctrl-C (cancel in-flight
 * requests). It watches the IPC channel: if the parent dies (kill -9), the child stops as on SIGTERM, keeping what
 * it measured, rather than running on unseen.
 *
 * In the relaunched child this returns false after setting up that watch.
 */
export function relaunchWithV8Pool(): boolean {
  const option = poolSizeOption(process.execArgv, process.env, process.platform, availableParallelism())
  if (option === undefined) {
    if (process.env[RELAUNCHED_ENV] !== undefined) stopWhenParentDies()
    return false
  }
  const extra = CHILD_V8_OPTIONS.filter((o) => !process.execArgv.includes(o))
  const child = spawn(process.execPath, [...process.execArgv, option, ...extra, process.argv[1], ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: {...process.env, [RELAUNCHED_ENV]: option},
  })
  quietRelayHeap()
  const relay = (signal: NodeJS.Signals) => child.kill(signal)
  for (const signal of RELAYED) process.on(signal, relay)
  child.on('error', (error) => {
    process.stderr.write(`dual-bench: could not start the measuring process (${error.message}); run it with NODE_OPTIONS=${option} to skip this step\n`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    for (const s of RELAYED) process.off(s, relay)
    if (signal === null) process.exit(code ?? 1)
    // Die of the same signal, as a shell expects; the exit code stands in where that signal does not kill.
    process.exitCode = 128 + (constants.signals[signal] ?? 0)
    process.kill(process.pid, signal)
  })
  return true
}

/**
 * From here on this process only relays, yet once it has loaded a few MB of modules (the product: ≈ 10 MB) V8's
 * memory reducer collects its idle heap 8 s after start and again 0.5 s later: two incremental mark-compacts of
 * 4–8 ms of CPU each. Where the parent shares the child's cores (taskset, a container's CPU quota), that CPU is
 * taken from the measuring thread: traced at 256 streams pinned to one core, both fell inside the measured round.
 * The reducer cannot be switched off once the heap exists, but it only ever starts incremental marking, so
 * forbidding that stops it; a relay allocates too little to need any other collection.
 */
function quietRelayHeap(): void {
  v8.setFlagsFromString('--no-incremental-marking')
}

function stopWhenParentDies(): void {
  if (!process.channel) return
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
  // The listener refs the channel; unref it so that the child still exits when its work is done.
  process.channel.unref()
}
