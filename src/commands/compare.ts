import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {inputError} from '../errors.js'
import {compareRuns, DEFAULT_NOISE_THRESHOLD, type RunComparison} from '../report/compare.js'
import {compareText} from '../report/compare-text.js'
import {loadRun} from '../report/load-run.js'

export default class Compare extends BaseCommand {
  static override summary = 'Compare two runs (A vs B, e.g. LMCache off vs on): per level and round, and a verdict per level.'
  static override description = `Reads two output directories of \`dual-bench run\`. For each (concurrency, round) present in both it shows TTFT avg/P50/P99, latency P50/P99, output tokens/s, requests/s and goodput for A and B, with B − A and B / A. Then one line per level, e.g. "C=8: B is 2.4× faster to first token warm (P50), output throughput +12%, goodput +30%".

Differences smaller than --threshold percent are reported as "no clear difference". Levels or rounds present in only one run are listed.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> results/lmcache-off results/lmcache-on',
    '<%= config.bin %> <%= command.id %> results/a results/b --threshold 10',
    '<%= config.bin %> <%= command.id %> results/a results/b --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    dir_a: Args.string({description: 'Output directory of the baseline run (A).', required: true}),
    dir_b: Args.string({description: 'Output directory of the run compared with it (B).', required: true}),
  }

  static override flags = {
    threshold: Flags.string({
      summary: `Relative difference (percent) under which a change is "no clear difference".`,
      default: String(DEFAULT_NOISE_THRESHOLD * 100),
    }),
  }

  async run(): Promise<RunComparison> {
    const {args, flags} = await this.parse(Compare)
    const threshold = Number(flags.threshold)
    if (flags.threshold.trim() === '' || !Number.isFinite(threshold) || threshold < 0) {
      throw inputError(`--threshold must be a percentage ≥ 0, got "${flags.threshold}"`, '--threshold 5')
    }
    const [a, b] = await Promise.all([loadRun(args.dir_a), loadRun(args.dir_b)])
    const comparison = compareRuns(a, b, {noise: threshold / 100})
    this.log(compareText(comparison))
    return comparison
  }
}
