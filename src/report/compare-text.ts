/** Pure: a RunComparison as terminal text — one aligned table per (level, round), then the verdicts. */
import {fixed} from '../output/format.js'
import {type MetricDelta, percentText, type RunComparison, type RunSide} from './compare.js'

const padEnd = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - s.length))
const padStart = (s: string, w: number) => ' '.repeat(Math.max(0, w - s.length)) + s

function sideLine(name: string, s: RunSide): string {
  const what = [s.model, s.endpoint, s.simulator ? 'SIMULATOR' : null].filter(Boolean).join(', ')
  return `${name} = ${s.dir}${what ? ` (${what})` : ''}`
}

function cells(d: MetricDelta): string[] {
  const sign = d.delta === null ? '' : d.delta > 0 ? '+' : ''
  const note = d.verdict === 'better' ? 'better' : d.verdict === 'worse' ? 'worse' : d.verdict === null ? '' : '~'
  return [d.label, fixed(d.a), fixed(d.b), d.delta === null ? '-' : `${sign}${fixed(d.delta)}`, d.ratio === null ? '-' : `${d.ratio.toFixed(3)}`, note]
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => (i === 0 || i === r.length - 1 ? padEnd(c, widths[i]) : padStart(c, widths[i]))).join('  ').trimEnd())
}

const roundName = (r: number) => (r === 1 ? 'round 1 (cold)' : r === 2 ? 'round 2 (warm)' : `round ${r}`)

/** Pure: the comparison for the terminal. "~" marks a difference under the noise threshold. */
export function compareText(c: RunComparison): string {
  const lines: string[] = [sideLine('A', c.a), sideLine('B', c.b), '']
  for (const w of c.warnings) lines.push(`Note: ${w}`)
  if (c.warnings.length > 0) lines.push('')
  for (const r of c.rounds) {
    lines.push(`Concurrency ${r.concurrency} | ${roundName(r.round)}`)
    lines.push(...table([['Metric', 'A', 'B', 'B − A', 'B / A', ''], ...r.metrics.map(cells)]).map((l) => `  ${l}`), '')
  }
  const only = (name: string, xs: {concurrency: number; round: number}[]) => {
    const levels = [...new Set(xs.map((x) => x.concurrency))]
    const text = levels.map((c) => `C=${c} (round ${xs.filter((x) => x.concurrency === c).map((x) => x.round).join(', ')})`)
    if (xs.length > 0) lines.push(`Only in ${name}: ${text.join('; ')}`)
  }
  only('A', c.only_in_a)
  only('B', c.only_in_b)
  if (c.only_in_a.length + c.only_in_b.length > 0) lines.push('')
  lines.push(`Verdict (B vs A; differences under ${percentText(c.noise_threshold)} are "no clear difference"):`)
  if (c.verdicts.length === 0) lines.push('  No concurrency level is present in both runs.')
  for (const v of c.verdicts) lines.push(`  ${v.text}`)
  return lines.join('\n')
}
