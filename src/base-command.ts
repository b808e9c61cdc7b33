import {Command} from '@oclif/core'
import {DualBenchError} from './errors.js'

/**
 * Renders DualBenchError in one place: one clear line (plus "Try:" hints), the error's exit code, no stack trace.
 * Subclasses register cleanup (progress bars, servers) with `onCleanup`, run before the message is printed.
 */
export abstract class BaseCommand extends Command {
  private cleanups: (() => void)[] = []

  protected onCleanup(fn: () => void): void {
    this.cleanups.push(fn)
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    for (const fn of this.cleanups.splice(0)) fn()
    if (error instanceof DualBenchError) {
      const hints = error.suggestions.map((s) => `\n  Try: ${s}`).join('')
      const text = `Error: ${error.message}${hints}`
      // oclif's logToStderr is silent under --json, and an error must always be seen.
      if (this.jsonEnabled()) process.stderr.write(`${text}\n`)
      else this.logToStderr(text)
      this.exit(error.exit)
    }
    return super.catch(error)
  }
}
