import {Command, Flags} from '@oclif/core'

import {DualBenchError} from '../errors.js'
import {runPromCheck, type PromCheckResult} from '../metrics/check.js'
import {renderPromCheck} from '../metrics/check-render.js'
import {PRESET_NAMES} from '../metrics/presets.js'

export type PromCheckSummary = PromCheckResult

/** `dual-bench prom-check`: parse → runPromCheck → render. Exit 0 ok, 1 endpoint unusable, 2 a metric missing. */
export default class PromCheck extends Command {
  static override summary = 'Check a Prometheus metrics endpoint and the metrics a run would read from it.'

  static override description = `Scrapes the endpoint once and reports its status, response time, content type and how many metric families of each type it exposes. For every metric from --prometheus-metrics / --prometheus-preset it shows the matching series and their current values; for a name that is not there it lists the closest names that are.

Exit codes: 0 reachable and every requested metric exists; 1 unreachable, non-200 or not Prometheus text; 2 a requested metric (or a ratio operand) is missing.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --prometheus-url http://localhost:8000/metrics --prometheus-preset vllm',
    '<%= config.bin %> <%= command.id %> --prometheus-url http://localhost:8000/metrics --prometheus-metrics vllm:prefix_cache_hits \'vllm:num_requests_running{model_name="m"}\'',
    '<%= config.bin %> <%= command.id %> --prometheus-url http://localhost:30000/metrics --prometheus-ratio hit_rate=sglang:cached_tokens_total/sglang:prompt_tokens_total --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    'prometheus-url': Flags.url({summary: 'Prometheus exposition endpoint, e.g. http://localhost:8000/metrics.', required: true}),
    'prometheus-metrics': Flags.string({
      summary: 'Metric names to check, optionally with label matchers: name{label="v",other!="w"}.',
      multiple: true,
    }),
    'prometheus-ratio': Flags.string({summary: 'Ratio of two counters to check, as NAME=NUMERATOR/DENOMINATOR.', multiple: true}),
    'prometheus-preset': Flags.option({summary: 'Check the cache and load metrics of a known server.', options: PRESET_NAMES})(),
    'prometheus-timeout': Flags.custom<number>({
      summary: 'Seconds to wait for the whole response.',
      default: 2,
      parse: async (input) => {
        const seconds = Number(input)
        if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--prometheus-timeout must be a positive number of seconds, got "${input}"`)
        return seconds
      },
    })(),
  }

  async run(): Promise<PromCheckSummary> {
    const {flags} = await this.parse(PromCheck)
    let result: PromCheckResult
    try {
      result = await runPromCheck({
        url: flags['prometheus-url'].toString(),
        metrics: flags['prometheus-metrics'],
        ratios: flags['prometheus-ratio'],
        preset: flags['prometheus-preset'],
        timeoutMs: flags['prometheus-timeout'] * 1000,
      })
    } catch (error) {
      if (error instanceof DualBenchError) this.error(error.message, {exit: error.exit, code: error.code, suggestions: error.suggestions})
      throw error
    }

    this.log(renderPromCheck(result))
    if (result.exitCode !== 0) {
      // this.exit() throws, so oclif never prints the returned result: print it here for --json.
      if (this.jsonEnabled()) this.logJson(result)
      this.exit(result.exitCode)
    }
    return result
  }

  /** Our own exit (result already printed) must not be rendered again as an error JSON under --json. */
  override async catch(error: Error & {code?: string}): Promise<unknown> {
    if (error.code === 'EEXIT') throw error
    return super.catch(error)
  }
}
