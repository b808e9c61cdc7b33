#!/usr/bin/env node
/**
 * Client benchmarks of issue #6: is the measuring client ever the bottleneck, and does its clock hold under load?
 * `npm run bench` (build first) or `node bench/run-all.js [--quick] [--only a,b,c,d,e] [--json FILE]`.
 *
 * The target (bench/target-server.mjs) runs in its own process pinned to the last core; every client (the product
 * through `runBenchmark`, and autocannon) runs in its own process pinned to core 0, one at a time. Prints one table.
 *   (a) non-streaming req/s at concurrency 64 and 256, product vs autocannon on the same target, client CPU %
 *       and, at 256, the client's µs per request layer by layer (client-layers.mjs) next to autocannon's CPU per request
 *   (b) streamed chunks/s per client core with zero inter-token delay
 *   (c) timing accuracy at concurrency 1/64/256/1024, 100 tokens/s: per-request client − server error of TTFT
 *       (client first-token stamp − server first-token write) and ITL, p50/p99, also after the first wave, and at
 *       c=256 in five runs (judged on the p99 of all their requests, each run's p99 printed) and once more with
 *       --no-client-warmup; plus 5 000 concurrent streams
 *   (d) peak RSS of a 100 000-request streaming run
 *   (e) metrics scrapes per second at concurrency 1024 with --prometheus-url
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
if (args.includes('--help') || args.includes('-h')) {
  console.log('Usage: node bench/run-all.js [--quick] [--only a,b,c,d,e] [--json FILE]   (build first: npm run build)\n' +
    '  a non-streaming req/s vs autocannon, and client µs per request by layer   b streamed chunks/s   c TTFT/ITL error vs server stamps\n' +
    '  d peak RSS of 100 000 streams        e metrics scrapes/s')
  process.exit(0)
}
const quick = args.includes('--quick')
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1].split(',')) : undefined
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined
const want = (k) => !only || only.has(k)

const cores = cpus().length
const canPin = cores >= 2 && existsSync('/usr/bin/taskset')
const serverCore = String(cores - 1)
const clientCore = '0'
const pinned = (core, argv) => (canPin ? ['taskset', ['-c', core, process.execPath, ...argv]] : [process.execPath, argv])

if (!existsSync(path.join(here, '../dist/run/run-benchmark.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` first (npm run bench does).')
  process.exit(2)
}

/** Runs a node script in a pinned child and parses the last JSON line it prints. */
function runChild(script, spec) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = pinned(clientCore, [path.join(here, script), JSON.stringify(spec)])
    const child = spawn(cmd, argv, {stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop()
      if (code !== 0 || !last) return reject(new Error(`${script} exited with ${code}`))
      resolve(JSON.parse(last))
    })
  })
}

async function startTarget() {
  const [cmd, argv] = pinned(serverCore, [path.join(here, 'target-server.mjs')])
  const child = spawn(cmd, argv, {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port))
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)))
  })
  return {base: `http://127.0.0.1:${port}`, close: () => child.kill('SIGTERM'), cpuSeconds: () => cpuSecondsOf(child.pid)}
}

/** CPU seconds a process has used so far (Linux /proc; taskset execs node in place, so the pid is the target's), or null. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return null
  }
}

const getJson = async (url) => (await fetch(url)).json()

/** Percentile of an unsorted array (linear interpolation), or null. */
function pct(values, p) {
  if (values.length === 0) return null
  const s = Float64Array.from(values).sort()
  const h = (s.length - 1) * p
  const lo = Math.floor(h)
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (h - lo)
}
const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toLocaleString('en-US', {maximumFractionDigits: d, minimumFractionDigits: d}))

const rows = []
const row = (section, measure, value, target = '', note = '') => {
  rows.push({section, measure, value, target, note})
  console.error(`  ${section} ${measure}: ${value}${note ? `  (${note})` : ''}`)
}
const results = {quick, cores, pinned: canPin, node: process.version}
const work = mkdtempSync(path.join(tmpdir(), 'dual-bench-bench-'))
const target = await startTarget()
const product = (name, spec) => runChild('product-run.mjs', {outputDir: path.join(work, name), ...spec})

/**
 * One product run at concurrency c against the timed target: per request, the client − server error of TTFT (client
 * first-token stamp − server first-token write) and of ITL ((latency − TTFT) / (tokens − 1) against the server's own
 * last − first write over the same count); `later`: TTFT errors after the first wave, when the client's code is warm.
 */
async function accuracyRun(name, {c, n, tokens, noWarmup}) {
  await getJson(`${target.base}/bench/stamps`) // clear
  const spec = {endpoint: `${target.base}/timed/10/${tokens}/v1/chat/completions`, concurrency: c, requests: n, stream: true, maxTokens: tokens, keepRecords: true}
  const ours = await product(name, noWarmup ? {...spec, clientWarmup: false} : spec)
  const stamps = await getJson(`${target.base}/bench/stamps`)
  const run = {round: ours.rounds[0], ttft: [], itl: [], later: []}
  for (const rec of ours.records) {
    const s = stamps[rec.sampleId]
    if (!rec.ok || !s || rec.firstTokenAtMs === undefined) continue
    const ttft = rec.firstTokenAtMs - (s.first_token_write_ms + ours.clockOffsetMs)
    run.ttft.push(ttft)
    if (Number(rec.sampleId.slice(1)) >= c) run.later.push(ttft)
    run.itl.push((rec.endedAtMs - rec.firstTokenAtMs - (s.last_token_write_ms - s.first_token_write_ms)) / (s.tokens - 1))
  }
  return run
}

try {
  if (want('a')) {
    console.error('(a) non-streaming req/s …')
    const {buildRequestBody} = await import('../dist/http/request-body.js')
    const body = buildRequestBody({id: 'r0', messages: [{role: 'user', content: 'r0'}]}, {api: 'chat', model: 'bench', stream: false, includeUsage: false}).toString()
    const amount = quick ? 15_000 : 60_000
    // Warm the target's JIT first: a cold node:http server runs at half speed for its first ~second, which would
    // favour whichever client happens to go second.
    await runChild('autocannon-run.mjs', {url: `${target.base}/fast/v1/chat/completions`, connections: 64, amount: 40_000, body})
    for (const c of [64, 256]) {
      const ours = await product(`a-${c}`, {endpoint: `${target.base}/fast/v1/chat/completions`, concurrency: c, requests: amount, stream: false})
      const targetCpu0 = target.cpuSeconds()
      const ac = await runChild('autocannon-run.mjs', {url: `${target.base}/fast/v1/chat/completions`, connections: c, amount, body})
      const targetCpuPct = targetCpu0 === null ? null : (100 * (target.cpuSeconds() - targetCpu0)) / ac.wall_s
      const r = ours.rounds[0]
      results[`a_c${c}`] = {product: r, autocannon: ac, target_cpu_pct_during_autocannon: targetCpuPct}
      // autocannon well below a full core was not at its own capacity: the ratio then does not measure the client.
      // Whether the target held it back shows in the target's CPU over the same run (at c=256 on this box neither is
      // saturated: autocannon's rate there is its own at that concurrency, not a capacity).
      const targetNote = targetCpuPct === null ? '' : `, target CPU ${f(targetCpuPct, 0)}% during autocannon`
      const bound = ac.cpu_pct < 80 ? `; autocannon was not CPU-bound${targetNote}, so this ratio does not measure the client's capacity` : targetNote
      row('(a)', `non-streaming req/s, c=${c}: dual-bench / autocannon`, `${f(r.requests_per_s, 0)} / ${f(ac.requests_per_s, 0)} (${f(r.requests_per_s / ac.requests_per_s, 2)}×)`, c === 256 ? '≥ 0.8×' : '', `client CPU ${f(r.cpu_pct, 0)}% / ${f(ac.cpu_pct, 0)}%, errors ${r.failed}/${ac.errors}${bound}`)
    }
    // Where the product's time per request goes at c=256, layer by layer (each run alone, client core saturated, so
    // µs per request = 1 / req/s), next to autocannon's own CPU per request from the run above.
    const layers = {}
    for (const layer of ['undici', 'connection', 'transport', 'runner']) {
      layers[layer] = await runChild('client-layers.mjs', {endpoint: `${target.base}/fast/v1/chat/completions`, concurrency: 256, requests: amount, layer})
    }
    results.a_layers_c256 = layers
    const us = (rps) => f(1e6 / rps, 1)
    const ac = results.a_c256.autocannon
    const acUs = (1e6 * (ac.cpu_pct / 100) * ac.wall_s) / ac.requests
    row(
      '(a)',
      'client µs per request, c=256: HTTP connection alone (undici for reference) / + measured transport / + runner / + requests.jsonl (= dual-bench)',
      `${us(layers.connection.requests_per_s)} (${us(layers.undici.requests_per_s)}) / ${us(layers.transport.requests_per_s)} / ${us(layers.runner.requests_per_s)} / ${us(results.a_c256.product.requests_per_s)}`,
      '',
      `autocannon: ${f(acUs, 1)} µs of CPU per request, so 0.8× of it at full speed needs ≤ ${f(acUs / 0.8, 1)} µs`,
    )
  }

  if (want('b')) {
    console.error('(b) streamed chunks/s …')
    const tokens = 4000
    const requests = quick ? 32 : 128
    const ours = await product('b', {endpoint: `${target.base}/burst/${tokens}/v1/chat/completions`, concurrency: 16, requests, stream: true, maxTokens: tokens})
    const r = ours.rounds[0]
    const chunks = r.chunk_gap_count + (r.requests - r.failed)
    results.b = {...r, chunks}
    row('(b)', 'streamed chunks/s per client core (0 ms ITL)', f(chunks / r.cpu_s, 0), '≥ 300 000', `${f(chunks / r.wall_s, 0)}/s wall at ${f(r.cpu_pct, 0)}% CPU, ${chunks} chunks`)
  }

  if (want('c')) {
    console.error('(c) timing accuracy …')
    const levels = quick
      ? [{c: 1, n: 10, tokens: 30}, {c: 64, n: 64, tokens: 100}, {c: 256, n: 256, tokens: 100}, {c: 1024, n: 1024, tokens: 100}]
      : [{c: 1, n: 30, tokens: 30}, {c: 64, n: 192, tokens: 100}, {c: 256, n: 1536, tokens: 100}, {c: 1024, n: 2048, tokens: 100}]
    // c=256 runs six waves: with three, its p99 was the 8th-worst request, i.e. one stall decided it. It also runs in
    // several processes: one run's p99 (the 16th-worst of 1 536) moves with the box's weather (0.6–15 ms for the same
    // code in one day), so its target is judged on the p99 of every request of every run, with each run's p99 printed.
    // The product runs with its default --client-warmup; c=256 is measured once more without it, side by side.
    const runsAt256 = quick ? 1 : 5
    levels.splice(levels.findIndex((l) => l.c === 256) + 1, 0, {...levels.find((l) => l.c === 256), noWarmup: true})
    for (const {c, n, tokens, noWarmup} of levels) {
      const runs = []
      for (let i = 0; i < (c === 256 && !noWarmup ? runsAt256 : 1); i++) {
        runs.push(await accuracyRun(`c-${c}${noWarmup ? '-cold' : ''}-${i}`, {c, n, tokens, noWarmup}))
      }
      const all = (k) => runs.flatMap((run) => run[k])
      const [ttftErr, itlErr, laterErr] = [all('ttft'), all('itl'), all('later')]
      const key = `c_c${c}${noWarmup ? '_no_warmup' : ''}`
      results[key] = {
        rounds: runs.map((run) => run.round),
        ttft_err: {p50: pct(ttftErr, 0.5), p99: pct(ttftErr, 0.99), max: Math.max(...ttftErr)},
        ttft_err_p99_per_run: runs.map((run) => pct(run.ttft, 0.99)),
        ttft_err_after_first_wave: laterErr.length > 0 ? {p50: pct(laterErr, 0.5), p99: pct(laterErr, 0.99), n: laterErr.length} : null,
        itl_err: {p50: pct(itlErr, 0.5), p99: pct(itlErr, 0.99)},
        matched: ttftErr.length,
      }
      const x = results[key]
      const label = `c=${c}${noWarmup ? ' --no-client-warmup' : ''}${runs.length > 1 ? `, ${runs.length} runs` : ''}`
      const later = x.ttft_err_after_first_wave
      const laterNote = later ? `; after the first wave ${f(later.p50, 2)} / ${f(later.p99, 2)}` : ''
      const failed = runs.reduce((sum, run) => sum + run.round.failed, 0)
      const loopP99 = runs.map((run) => f(run.round.event_loop?.p99_ms, 2)).join(', ')
      const perRun = runs.length > 1 ? `; p99 of each run ${x.ttft_err_p99_per_run.map((v) => f(v, 2)).join(', ')}` : ''
      row('(c)', `${label}: TTFT error p50 / p99 (ms)`, `${f(x.ttft_err.p50, 3)} / ${f(x.ttft_err.p99, 3)}`, c === 1 ? 'p50 ≤ 0.5' : c === 256 && !noWarmup ? 'p99 ≤ 2' : '', `${x.matched}/${n * runs.length} matched, ${failed} failed, loop delay p99 ${loopP99} ms${perRun}${laterNote}`)
      row('(c)', `${label}: ITL error p50 / p99 (ms)`, `${f(x.itl_err.p50, 4)} / ${f(x.itl_err.p99, 4)}`, c === 256 && !noWarmup ? 'p99 ≤ 0.5' : '', `${tokens} tokens at 10 ms`)
    }
    const c = quick ? 2000 : 5000
    const ours = await product('c-5000', {endpoint: `${target.base}/timed/10/20/v1/chat/completions`, concurrency: c, requests: c, stream: true, maxTokens: 20})
    const r = ours.rounds[0]
    results.c_streams = r
    row('(c)', `${c} concurrent streams: failed requests`, `${r.failed} of ${r.requests}`, '0 of 5 000', JSON.stringify(r.failures))
  }

  if (want('d')) {
    console.error('(d) peak RSS …')
    const requests = quick ? 20_000 : 100_000
    const ours = await product('d', {endpoint: `${target.base}/burst/20/v1/chat/completions`, concurrency: 256, requests, stream: true, maxTokens: 20})
    results.d = {...ours.rounds[0], maxRssMb: ours.maxRssMb}
    row('(d)', `peak RSS, ${requests.toLocaleString('en-US')} streaming requests × 20 chunks (MB)`, f(ours.maxRssMb, 0), '≤ 300 (100 000)', `${f(ours.rounds[0].requests_per_s, 0)} req/s, ${ours.rounds[0].failed} failed`)
  }

  if (want('e')) {
    console.error('(e) metrics scrapes/s …')
    const before = (await getJson(`${target.base}/bench/scrapes`)).scrapes
    const requests = quick ? 4096 : 10_240
    const ours = await product('e', {endpoint: `${target.base}/timed/10/20/v1/chat/completions`, concurrency: 1024, requests, stream: true, maxTokens: 20, prometheusUrl: `${target.base}/metrics`})
    const after = (await getJson(`${target.base}/bench/scrapes`)).scrapes
    const r = ours.rounds[0]
    results.e = {...r, scrapes: after - before}
    row('(e)', 'metrics scrapes/s at c=1024 with --prometheus-url', f((after - before) / r.wall_s, 1), '≤ 20', `${after - before} scrapes in ${f(r.wall_s, 1)} s (whole process incl. checks), ${r.failed} failed`)
  }
} finally {
  target.close()
  rmSync(work, {recursive: true, force: true})
}

const w = [Math.max(...rows.map((r) => r.section.length + 1 + r.measure.length)), Math.max(...rows.map((r) => r.value.length)), Math.max(6, ...rows.map((r) => r.target.length))]
console.log(`\ndual-bench client benchmark${quick ? ' (--quick: smaller runs)' : ''} — ${cores} cores, ${canPin ? `target pinned to core ${serverCore}, client to core ${clientCore}` : 'NOT pinned'}, node ${process.version}`)
console.log(`${'measure'.padEnd(w[0])}  ${'value'.padEnd(w[1])}  ${'target'.padEnd(w[2])}  note`)
for (const r of rows) console.log(`${`${r.section} ${r.measure}`.padEnd(w[0])}  ${r.value.padEnd(w[1])}  ${r.target.padEnd(w[2])}  ${r.note}`)
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2) + '\n')
