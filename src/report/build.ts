import {renderCharts, reportCharts} from './charts.js'
import {reportHtml} from './html.js'
import type {Lang} from '../output/i18n.js'
import {reportMarkdown} from './markdown.js'
import type {RunResults} from './model.js'

export const REPORT_FORMATS = ['html', 'md'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

/** The report file name for a format, written inside the run directory. */
export function reportFileName(format: ReportFormat): string {
  return format === 'html' ? 'report.html' : 'report.md'
}

/**
 * RunResults → report text (no file I/O). HTML renders its charts to SVG first (async, in memory); Markdown
 * has tables only.
 */
export async function buildReport(results: RunResults, opts: {format: ReportFormat; lang: Lang}): Promise<string> {
  if (opts.format === 'md') return reportMarkdown(results, opts.lang)
  const charts = await renderCharts(reportCharts(results, opts.lang))
  return reportHtml(results, charts, opts.lang)
}
