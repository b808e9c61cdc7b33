import cliProgress from 'cli-progress'
import type {RunObserver} from '../runner/events.js'

/**
 * A progress bar per round on stderr, only on a TTY (never in pipes, CI logs or --json). Not unit-tested:
 * it draws on a terminal; the run is the same without it.
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): RunObserver & {stop(): void} {
  let bar: cliProgress.SingleBar | undefined
  let failed = 0
  const stop = () => {
    bar?.stop()
    bar = undefined
  }
  if (!stream.isTTY) return {stop}
  return {
    stop,
    roundStart({concurrency, round, total}) {
      failed = 0
      bar = new cliProgress.SingleBar(
        {stream, format: `C=${concurrency} round ${round} [{bar}] {value}/{total} | failed {failed} | {duration_formatted}`, hideCursor: true},
        cliProgress.Presets.shades_classic,
      )
      bar.start(total, 0, {failed})
    },
    request(r) {
      if (!r.ok) failed++
      bar?.increment(1, {failed})
    },
    roundEnd: stop,
  }
}
