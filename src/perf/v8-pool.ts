/**
 * How many helper threads V8 gets in a process that measures (`run`). V8 compiles hot code and does part of its
 * garbage collection on a pool of helper threads (Node's default: 4), and a helper that becomes runnable on the
 * measuring thread's core takes that core for a whole scheduler tick (4 ms at HZ=250), not the fraction of a
 * millisecond its job needs: traced with perf on the bench's client core, two helpers compiling code that became hot
 * at a wave boundary (256 requests ending and 256 starting) held it 4.0 + 4.0 ms while first tokens waited, and
 * SCHED_IDLE for the helpers does not stop it (the kernel still picks them while the measuring thread has had more
 * than its share). With one helper, TTFT error p99 at 256 streams was ≤ 2 ms in 28 of 30 interleaved runs, against
 * 7 of 20 with four (see docs/ARCHITECTURE.md). More helpers only help when they have cores of their own.
 */

/** Node's default pool size, and the most this asks for. */
const NODE_DEFAULT_POOL = 4
/** Set in the relaunched process, so that it never relaunches again. */
export const RELAUNCHED_ENV = 'DUAL_BENCH_V8_POOL'

/** Helper threads for a process allowed `cores` CPUs: one core is the measuring thread's, the rest the helpers'. */
export function v8PoolSize(cores: number): number {
  return Math.max(1, Math.min(NODE_DEFAULT_POOL, Math.floor(cores) - 1))
}

/**
 * The Node option to relaunch with, or undefined when there is nothing to change: already relaunched, the pool size
 * chosen by the user (command line or NODE_OPTIONS), Node's default already right, a debugger asked for (it would
 * attach to the parent, which only relays), or Windows, where a console Ctrl-C reaches every process and a forwarded
 * signal cannot be delivered as one.
 */
export function poolSizeOption(
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  cores: number,
): string | undefined {
  if (platform === 'win32' || env[RELAUNCHED_ENV] !== undefined) return undefined
  const chosen = (arg: string) => /(^|\s)--v8-pool-size(=|\s|$)/.test(arg)
  if (execArgv.some(chosen) || chosen(env.NODE_OPTIONS ?? '')) return undefined
  if (execArgv.some((arg) => arg.startsWith('--inspect'))) return undefined
  const size = v8PoolSize(cores)
  return size === NODE_DEFAULT_POOL ? undefined : `--v8-pool-size=${size}`
}
