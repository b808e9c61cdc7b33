import path from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {writeFileAtomic} from '../output/write.js'
import {buildReport, REPORT_FORMATS, reportFileName} from '../report/build.js'
import {LANGS} from '../output/i18n.js'
import {loadRun} from '../report/load-run.js'

export interface ReportResult {
  file: string
  format: (typeof REPORT_FORMATS)[number]
  lang: (typeof LANGS)[number]
}

export default class Report extends BaseCommand {
  static override summary = "Write a report of a run's results: report.html (charts and tables, works offline) or report.md."
  static override description = `Reads the output directory of \`dual-bench run\` (run.json and concurrency_<C>_round_<R>.json) and writes the report into the same directory.

HTML: one self-contained file — cold→warm speed-up per level, charts (TTFT and latency P50/P99, token and request throughput with goodput, Prometheus metrics per round) drawn as inline SVG, the per-level×round tables of metrics_summary.csv, failures and the run configuration. No scripts and no network needed to view it.
Markdown: the same tables in GitHub Markdown, without charts.

--lang zh labels the report with the Chinese terms of metrics_summary.csv (指标/轮次, 并发5-第1轮, 平均值 …).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> results/demo',
    '<%= config.bin %> <%= command.id %> results/demo --format md',
    '<%= config.bin %> <%= command.id %> results/demo --lang zh',
  ]

  static override enableJsonFlag = true

  static override args = {
    dir: Args.string({description: 'Output directory of `dual-bench run`.', required: true}),
  }

  static override flags = {
    format: Flags.option({summary: 'html: report.html with charts; md: report.md (tables only).', options: REPORT_FORMATS, default: 'html' as const})(),
    lang: Flags.option({summary: 'Label language.', options: LANGS, default: 'en' as const})(),
  }

  async run(): Promise<ReportResult> {
    const {args, flags} = await this.parse(Report)
    const results = await loadRun(args.dir)
    const content = await buildReport(results, {format: flags.format, lang: flags.lang})
    const file = path.join(args.dir, reportFileName(flags.format))
    await writeFileAtomic(file, content)
    for (const w of results.warnings) this.logToStderr(`Warning: ${w}`)
    this.log(file)
    return {file, format: flags.format, lang: flags.lang}
  }
}
