import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import ServeSim from '../../src/commands/serve-sim.js'
import {eventually, send} from './client.js'

/** Collects what the command logs. (Under jest workers oclif's output goes through console, not stdout.) */
class LoggedServeSim extends ServeSim {
  static lines: string[] = []
  override log(message = ''): void {
    LoggedServeSim.lines.push(message)
  }
}

/**
 * The package's oclif config minus its command directory: the command is run from source, and oclif then
 * does not import every compiled command in dist/ (slow, and jest's VM cannot link them).
 */
const root = process.cwd()
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const loadOptions = {root, pjson: {...pkg, oclif: {...pkg.oclif, commands: undefined}}}

const ownListeners = (before: Set<unknown>) => process.listeners('SIGTERM').filter((l) => !before.has(l)) as Array<(s: NodeJS.Signals) => void>

describe('dual-bench serve-sim', () => {
  it('prints the endpoint, serves it, and closes cleanly on SIGTERM', async () => {
    const before = new Set<unknown>(process.listeners('SIGTERM'))
    LoggedServeSim.lines = []
    const text = () => LoggedServeSim.lines.join('\n')
    const running = LoggedServeSim.run(['--port', '0', '--itl-ms', '1', '--model', 'cli-model', '--usage-style', 'llamacpp'], loadOptions)
    try {
      expect(await eventually(() => /listening on http:\/\/127\.0\.0\.1:\d+/.test(text()), 20_000)).toBe(true)
      const url = (text().match(/listening on (http:\/\/127\.0\.0\.1:\d+)/) as RegExpMatchArray)[1]
      expect(text()).toContain(`${url}/v1/chat/completions`)
      const models = JSON.parse((await send(url, '/v1/models')).body)
      expect(models.data[0].id).toBe('cli-model')
      const r = await send(url, '/v1/chat/completions', {messages: [{role: 'user', content: 'hi'}], stream: true, max_tokens: 2})
      expect(r.json.find((j) => j?.timings)).toBeDefined() // --usage-style reached the server
      // Only the command's own listener is called, so the test runner's handlers stay untouched.
      expect(ownListeners(before)).toHaveLength(1)
      ownListeners(before)[0]('SIGTERM')
      await running
      expect(text()).toMatch(/Served 1 completion requests/)
      expect((await send(url, '/v1/models')).error).toBeDefined()
      expect(ownListeners(before)).toHaveLength(0)
    } finally {
      // On a failed assertion, still stop the server so jest can exit.
      for (const l of ownListeners(before)) l('SIGTERM')
      await running.catch(() => undefined)
    }
  })

  it('rejects an out-of-range rate naming the flag, with a failing exit code', async () => {
    const saved = process.exitCode
    try {
      await expect(LoggedServeSim.run(['--fail-rate', '1.5'], loadOptions)).rejects.toThrow(/--fail-rate must be a number between 0 and 1/)
      // oclif records the exit status on the process; restore it so the test run itself is not marked failed.
      expect(process.exitCode).toBeGreaterThan(0)
    } finally {
      process.exitCode = saved
    }
  })
})
