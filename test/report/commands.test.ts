import {readFile, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {describe, expect, test} from '@jest/globals'
import Compare from '../../src/commands/compare.js'
import Report from '../../src/commands/report.js'
import {copyFixture, OFF, ON, runCommand} from './helpers.js'

describe('dual-bench report', () => {
  test('writes DIR/report.html and prints its path', async () => {
    const dir = await copyFixture(OFF)
    const {exit, stdout, result} = await runCommand(Report, [dir])
    expect(exit).toBe(0)
    const file = path.join(dir, 'report.html')
    expect(stdout.trim()).toBe(file)
    expect(result).toEqual({file, format: 'html', lang: 'en'})
    const html = await readFile(file, 'utf8')
    expect(html).toContain('<title>dual-bench report — lmcache-off</title>')
    expect(html.match(/<figure class="chart"/g)).toHaveLength(6)
  })

  test('--format md --lang zh writes report.md with the seed\'s terms', async () => {
    const dir = await copyFixture(ON)
    const {exit, stdout} = await runCommand(Report, [dir, '--format', 'md', '--lang', 'zh'])
    expect(exit).toBe(0)
    expect(stdout.trim()).toBe(path.join(dir, 'report.md'))
    const md = await readFile(path.join(dir, 'report.md'), 'utf8')
    expect(md).toContain('| 指标/轮次 | 并发1-第1轮 | 并发1-第2轮 | 并发8-第1轮 | 并发8-第2轮 | 并发16-第1轮 | 并发16-第2轮 |')
    await expect(stat(path.join(dir, 'report.html'))).rejects.toThrow()
  })

  test('a directory that is not a run: exit 2, the message names it, nothing written', async () => {
    const missing = path.join(os.tmpdir(), 'dual-bench-no-such-run-dir')
    const {exit, stderr} = await runCommand(Report, [missing])
    expect(exit).toBe(2)
    expect(stderr).toContain(`Error: ${missing}: no such directory`)
    expect(stderr).toContain('Try: Pass the output directory of `dual-bench run`')
  })

  test('an unknown --format is rejected by the flag parser', async () => {
    const {exit, error} = await runCommand(Report, [OFF, '--format', 'pdf'])
    expect(exit).toBe(2)
    expect(error?.message).toMatch(/Expected --format=pdf to be one of: html, md/)
  })
})

describe('dual-bench compare', () => {
  test('prints the tables and verdicts', async () => {
    const {exit, stdout} = await runCommand(Compare, [OFF, ON])
    expect(exit).toBe(0)
    expect(stdout).toContain('Concurrency 8 | round 2 (warm)')
    expect(stdout).toContain('C=1: B is 3.8× faster to first token warm (P50)')
  })

  test('--json prints the typed comparison', async () => {
    const {exit, stdout} = await runCommand(Compare, [OFF, ON, '--json', '--threshold', '1'])
    expect(exit).toBe(0)
    const json = JSON.parse(stdout)
    expect(json.noise_threshold).toBe(0.01)
    expect(json.rounds).toHaveLength(4)
    expect(json.only_in_b).toEqual([{concurrency: 16, round: 1}, {concurrency: 16, round: 2}])
    expect(json.verdicts.map((v: {text: string}) => v.text)).toEqual([
      'C=1: B is 3.8× faster to first token warm (P50), cold: 1.02× slower, output throughput +12%, goodput +30%',
      'C=8: B is 1.03× faster to first token warm (P50), cold: 1.02× faster, output throughput +2.5%, goodput +2%',
    ])
  })

  test('bad --threshold and a missing run: exit 2 with the reason', async () => {
    const bad = await runCommand(Compare, [OFF, ON, '--threshold', 'five'])
    expect(bad.exit).toBe(2)
    expect(bad.stderr).toContain('--threshold must be a percentage ≥ 0, got "five"')
    const missing = path.join(os.tmpdir(), 'dual-bench-no-such-run-dir')
    const gone = await runCommand(Compare, [OFF, missing])
    expect(gone.exit).toBe(2)
    expect(gone.stderr).toContain(`${missing}: no such directory`)
  })
})
