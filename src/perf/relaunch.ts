import {spawn} from 'node:child_process'
import {availableParallelism, constants} from 'node:os'
import {poolSizeOption, RELAUNCHED_ENV} from './v8-pool.js'

/** What the parent passes on. Ctrl-C reaches only the parent: the child has a session of its own (see below). */
const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGWINCH'] as const

/**
 * Runs this script again in a child Node with the V8 helper pool a measuring process needs (see v8-pool.ts), when
 * Node's own differs; returns true if it did, and this process then only relays until the child exits, with its
 * exit code or signal. Node has no way to resize the pool once started, so a child process is the only way.
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
  const child = spawn(process.execPath, [...process.execArgv, option, process.argv[1], ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: {...process.env, [RELAUNCHED_ENV]: option},
  })
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

function stopWhenParentDies(): void {
  if (!process.channel) return
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
  // The listener refs the channel; unref it so that the child still exits when its work is done.
  process.channel.unref()
}
