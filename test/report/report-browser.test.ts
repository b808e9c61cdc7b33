import {existsSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, test} from '@jest/globals'
import {chromium} from 'playwright-core'
import Report from '../../src/commands/report.js'
import {copyFixture, ON, runCommand} from './helpers.js'

/** Debian's chromium; DUAL_BENCH_CHROMIUM points elsewhere (e.g. another distribution's path). */
const CHROMIUM = process.env.DUAL_BENCH_CHROMIUM ?? '/usr/bin/chromium'
const skip = process.env.DUAL_BENCH_SKIP_BROWSER === '1'

describe('report.html in a real headless browser', () => {
  ;(skip ? test.skip : test)('renders offline: no errors, every chart drawn, no network request', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set DUAL_BENCH_SKIP_BROWSER=1 to skip this test`)
    }
    const dir = await copyFixture(ON)
    const {exit, stdout} = await runCommand(Report, [dir])
    expect(exit).toBe(0)
    const file = path.join(dir, 'report.html')
    expect(stdout.trim()).toBe(file)

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    try {
      const page = await browser.newPage({viewport: {width: 1280, height: 900}})
      const problems: string[] = []
      const requests: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
      })
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
      page.on('request', (r) => requests.push(r.url()))
      const url = pathToFileURL(file).href
      await page.goto(url, {waitUntil: 'load'})

      // 4 fixed charts (TTFT, latency, token and request throughput) + 3 Prometheus metrics of the LMCache run.
      const figures = page.locator('figure.chart')
      expect(await figures.count()).toBe(7)
      const ids = await figures.evaluateAll((els) => els.map((e) => e.getAttribute('data-chart')))
      expect(ids).toEqual(['ttft', 'latency', 'token-throughput', 'request-throughput', 'prometheus-0', 'prometheus-1', 'prometheus-2'])
      for (let i = 0; i < 7; i++) {
        const fig = figures.nth(i)
        // Data marks (lines, points, bars) are paths inside vega's role-mark groups; each must be visibly drawn.
        const marks = fig.locator('svg g.role-mark path')
        expect(await marks.count()).toBeGreaterThan(0)
        const box = await marks.first().boundingBox()
        expect(box).not.toBeNull()
        expect(box!.width + box!.height).toBeGreaterThan(0)
        // Labelled: a title and axis titles are present as text.
        const texts = await fig.locator('svg text').allTextContents()
        expect(texts.join(' ')).toContain('Concurrency')
      }
      await expect(page.locator('table.summary tbody tr').count()).resolves.toBeGreaterThan(40)

      const shot = path.join(dir, 'report.png')
      await page.screenshot({path: shot, fullPage: true})
      console.log(`report screenshot: ${shot}`)

      expect(problems).toEqual([])
      expect(requests).toEqual([url])
    } finally {
      await browser.close()
    }
  })
})
