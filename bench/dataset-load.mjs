#!/usr/bin/env node
/**
 * Dataset loading benchmark: streaming `loadDataset(--num-samples 100)` vs reading the whole file.
 *
 * Generates a ~1 GB JSONL file in os.tmpdir() (kept for re-runs), then runs each strategy in its own
 * child process so peak RSS (getrusage maxRSS) is per strategy:
 *   stream-first-100   loadDataset(path, {numSamples: 100})            — stops reading after 100 lines
 *   shuffle-100        loadDataset(path, {numSamples: 100, shuffle})   — reads the whole file, keeps 100
 *   naive-utf8         fs.readFile(path, 'utf8') + split('\n')         — fails above V8's ~512 MB string limit
 *   naive-buffer       fs.readFile(path) (Buffer) + split on '\n' for the first 100 lines
 * Build first: npx tsc -p .   Run: node bench/dataset-load.mjs [--size-mb 1024]
 */
import {spawnSync} from 'node:child_process'
import {createWriteStream, existsSync, statSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {once} from 'node:events'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const self = fileURLToPath(import.meta.url)
const args = process.argv.slice(2)
const sizeMb = Number(args[args.indexOf('--size-mb') + 1]) || 1024
const file = join(tmpdir(), `dual-bench-dataset-${sizeMb}mb.jsonl`)

async function generate() {
  const paragraph =
    'The harbour master logged every ship that entered the bay, noting its flag, its cargo and the hour of the tide. ' +
    'In the winter of the great storm the ledger ran out of pages, and the clerk began a second book bound in green cloth. '
  const body = paragraph.repeat(17) // ~4 KB per line
  const out = createWriteStream(file)
  let bytes = 0
  for (let i = 0; bytes < sizeMb * 1024 * 1024; i++) {
    const line = JSON.stringify({id: `s${i}`, text: `Record ${i}. ${body}Question ${i}: which ship came first?`}) + '\n'
    bytes += Buffer.byteLength(line)
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** Samples heapUsed every 5 ms so the peak between samples is not missed entirely. */
function heapPeakTracker() {
  let peak = process.memoryUsage().heapUsed
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5)
  return () => {
    clearInterval(t)
    return Math.max(peak, process.memoryUsage().heapUsed)
  }
}

async function child(strategy) {
  const stopHeap = heapPeakTracker()
  const t0 = performance.now()
  let samples = 0
  let error
  try {
    if (strategy === 'stream-first-100' || strategy === 'shuffle-100') {
      const {loadDataset} = await import('../dist/dataset/index.js')
      const r = await loadDataset(file, {numSamples: 100, shuffle: strategy === 'shuffle-100', seed: 1})
      samples = r.samples.length
    } else if (strategy === 'naive-utf8') {
      const text = await readFile(file, 'utf8')
      samples = text.split('\n').slice(0, 100).map((l) => JSON.parse(l)).length
    } else if (strategy === 'naive-buffer') {
      const buf = await readFile(file)
      let start = 0
      for (; samples < 100; samples++) {
        const end = buf.indexOf(10, start)
        JSON.parse(buf.toString('utf8', start, end))
        start = end + 1
      }
    }
  } catch (err) {
    error = `${err.code ?? ''} ${err.message}`.trim().slice(0, 100)
  }
  const ms = performance.now() - t0
  const heapPeak = stopHeap()
  const maxRssMb = process.resourceUsage().maxRSS / 1024
  process.stdout.write(JSON.stringify({strategy, ms, samples, maxRssMb, heapPeakMb: heapPeak / 1048576, error}))
}

async function main() {
  if (!existsSync(join(fileURLToPath(new URL('../dist/dataset/index.js', import.meta.url))))) {
    console.error('dist/ not built — run: npx tsc -p .')
    process.exit(2)
  }
  if (!existsSync(file) || statSync(file).size < sizeMb * 1024 * 1024 * 0.99) {
    console.error(`generating ${file} (${sizeMb} MB)…`)
    await generate()
  }
  const sizeMbActual = statSync(file).size / 1048576
  console.log(`file: ${file} (${sizeMbActual.toFixed(0)} MB), node ${process.version}`)
  console.log('strategy          time_ms   samples  peak_rss_mb  peak_heap_mb  note')
  for (const strategy of ['stream-first-100', 'shuffle-100', 'naive-utf8', 'naive-buffer']) {
    const r = spawnSync(process.execPath, ['--max-old-space-size=4096', self, '--child', strategy, '--size-mb', String(sizeMb)], {encoding: 'utf8'})
    let res
    try {
      res = JSON.parse(r.stdout)
    } catch {
      res = {strategy, ms: NaN, samples: 0, maxRssMb: NaN, heapPeakMb: NaN, error: (r.stderr || `exit ${r.status}`).split('\n')[0]}
    }
    console.log(
      `${strategy.padEnd(16)} ${res.ms.toFixed(0).padStart(8)} ${String(res.samples).padStart(9)} ${res.maxRssMb.toFixed(0).padStart(12)} ${res.heapPeakMb.toFixed(0).padStart(13)}  ${res.error ?? ''}`,
    )
  }
}

if (args[0] === '--child') await child(args[1])
else await main()
