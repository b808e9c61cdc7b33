#!/usr/bin/env node
/**
 * Non-streaming req/s of the plain measured transport vs the threaded transport (issue #6 `--workers N`),
 * against bench/target-server.mjs (/fast/: a fixed chat.completion, so the client is what is measured).
 *
 *   node bench/threaded-transport.mjs [--concurrency 256] [--seconds 5] [--repeat 3] [--pin] [--stream TOKENS]
 *   (build first: npm run build)
 *
 * --stream TOKENS: streaming instead, /burst/TOKENS/ (TOKENS SSE chunks per response, written as fast as possible).
 *
 * The target runs in its own process pinned to the last core (as in run-all.js). Each client configuration runs in
 * a fresh child process, one at a time, `--repeat` times interleaved; the table shows the median run. --pin also
 * pins the client process (all of its threads) to core 0, which shows per-core cost; unpinned, the client threads
 * may use every core (shared with the target).
 * Client configurations: plain = createMeasuredTransport; threaded wN = createThreadedTransport({workers: N});
 * "unbatched" = one message per request each way (batchMessages: false); by default sends and records are batched.
 */
import {spawn} from 'node:child_process'
import {setMaxListeners} from 'node:events'
import {existsSync} from 'node:fs'
import {cpus} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, '../dist/http')
const args = process.argv.slice(2)
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback)

if (args[0] === '--child') await child(JSON.parse(args[1]))
else await main()

async function main() {
  if (args.includes('--help') || args.includes('-h')) {
    console.log('Usage: node bench/threaded-transport.mjs [--concurrency 256] [--seconds 5] [--repeat 3] [--pin] [--stream TOKENS]   (build first: npm run build)')
    return
  }
  if (!existsSync(path.join(dist, 'threaded-transport.js'))) {
    console.error('bench: dist/http/threaded-transport.js is missing; run `npm run build` first.')
    process.exit(2)
  }
  const concurrency = opt('--concurrency', 256)
  const seconds = opt('--seconds', 5)
  const repeat = opt('--repeat', 3)
  const streamTokens = opt('--stream', 0)
  const cores = cpus().length
  const canPin = cores >= 2 && existsSync('/usr/bin/taskset')
  const pinClient = args.includes('--pin') && canPin
  const configs = [
    {label: 'plain (1 thread)', kind: 'plain'},
    {label: 'threaded w1', kind: 'threaded', workers: 1},
    {label: 'threaded w2', kind: 'threaded', workers: 2},
    {label: 'threaded w1 unbatched', kind: 'threaded', workers: 1, batchMessages: false},
    {label: 'threaded w2 unbatched', kind: 'threaded', workers: 2, batchMessages: false},
  ]

  const target = await startTarget(canPin ? String(cores - 1) : undefined)
  const runs = new Map(configs.map((c) => [c.label, []]))
  try {
    for (let r = 0; r < repeat; r++) {
      for (const config of configs) {
        const route = streamTokens > 0 ? `burst/${streamTokens}` : 'fast'
        const spec = {...config, endpoint: `${target.base}/${route}/v1/chat/completions`, concurrency, seconds, stream: streamTokens > 0}
        runs.get(config.label).push(await runChild(spec, pinClient ? '0' : undefined))
      }
    }
  } finally {
    target.close()
  }

  console.log(`${streamTokens > 0 ? `streaming ${streamTokens} chunks per response` : 'non-streaming'}, concurrency ${concurrency}, ${seconds} s per run, median of ${repeat}; ${cores} cores; target pinned to core ${canPin ? cores - 1 : '—'}; client ${pinClient ? 'pinned to core 0' : 'unpinned'}`)
  console.log(['client'.padEnd(24), 'req/s'.padStart(9), 'client CPU %'.padStart(13), 'CPU µs/req'.padStart(11), 'failed'.padStart(7), '  loop busy % main/workers'.padEnd(28), 'recs/msg'.padStart(9), '  ', 'all runs (req/s)'].join(''))
  for (const config of configs) {
    const all = runs.get(config.label)
    const sorted = [...all].sort((a, b) => a.reqPerS - b.reqPerS)
    const med = sorted[Math.floor(sorted.length / 2)]
    console.log(
      [
        config.label.padEnd(24),
        med.reqPerS.toFixed(0).padStart(9),
        med.cpuPct.toFixed(0).padStart(13),
        ((med.cpuPct * 1e4) / med.reqPerS).toFixed(1).padStart(11),
        String(med.failed).padStart(7),
        ('  ' + med.elu.join('/')).padEnd(28),
        (med.recordsPerReply === null ? '—' : med.recordsPerReply.toFixed(1)).padStart(9),
        '  ',
        all.map((x) => x.reqPerS.toFixed(0)).join(' / '),
      ].join(''),
    )
  }
}

/** One client configuration: preconnect, 1 s warm-up, then `seconds` of closed-loop sends at `concurrency`. */
async function child(spec) {
  const {createMeasuredTransport} = await import(path.join(dist, 'measured-transport.js'))
  const {createThreadedTransport} = await import(path.join(dist, 'threaded-transport.js'))
  const {nowMs} = await import(path.join(dist, '../record/clock.js'))
  const opts = {endpoint: new URL(spec.endpoint), timeoutMs: 30_000, maxSockets: spec.concurrency, api: 'chat', stream: spec.stream}
  const transport =
    spec.kind === 'plain' ? createMeasuredTransport(opts) : createThreadedTransport({...opts, workers: spec.workers, batchMessages: spec.batchMessages ?? true})
  const body = Buffer.from(JSON.stringify({model: 'bench', messages: [{role: 'user', content: 'hello'}], max_tokens: 1, stream: spec.stream}))
  const request = {level: spec.concurrency, round: 1, index: 0, sampleId: 'b', promptPreview: 'hello', body}
  // The runner passes its one cancel signal with every send; so does this loop.
  const cancel = new AbortController()
  setMaxListeners(0, cancel.signal)
  await transport.preconnect(spec.concurrency)

  let phaseEnd = 0
  let done = 0
  let failed = 0
  let counting = false
  const slot = async () => {
    while (nowMs() < phaseEnd) {
      const record = await transport.send(request, {queuedAtMs: nowMs(), signal: cancel.signal})
      if (!counting) continue
      done++
      if (!record.ok) failed++
    }
  }
  const phase = (ms) => {
    phaseEnd = nowMs() + ms
    return Promise.all(Array.from({length: spec.concurrency}, slot))
  }
  await phase(1000) // warm-up: JIT, worker start-up
  counting = true
  const cpu0 = process.cpuUsage()
  const threads = transport.threads ?? []
  const elu0 = [performance.eventLoopUtilization(), ...threads.map((w) => w.performance.eventLoopUtilization())]
  // Messages the threads post back, counted beside the transport's own listener: records per message.
  let replies = 0
  for (const w of threads) w.on('message', () => replies++)
  const t0 = nowMs()
  await phase(spec.seconds * 1000)
  const wallS = (nowMs() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  // Busy share of each event loop (main thread first): which thread is the bottleneck.
  const elu = [performance.eventLoopUtilization(elu0[0]), ...threads.map((w, i) => w.performance.eventLoopUtilization(elu0[i + 1]))].map((e) => Math.round(100 * e.utilization))
  await transport.close()
  // process.cpuUsage covers every thread of the process, the workers included.
  process.stdout.write(JSON.stringify({reqPerS: done / wallS, failed, elu, recordsPerReply: replies ? done / replies : null, cpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / wallS}) + '\n')
}

function runChild(spec, core) {
  const argv = [fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)]
  const [cmd, cmdArgs] = core === undefined ? [process.execPath, argv] : ['taskset', ['-c', core, process.execPath, ...argv]]
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, cmdArgs, {stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    proc.stdout.on('data', (d) => (out += d))
    proc.on('close', (code) => {
      const last = out.trim().split('\n').pop()
      if (code !== 0 || !last) return reject(new Error(`client ${spec.kind} exited with ${code}`))
      resolve(JSON.parse(last))
    })
  })
}

async function startTarget(core) {
  const script = path.join(here, 'target-server.mjs')
  const [cmd, argv] = core === undefined ? [process.execPath, [script]] : ['taskset', ['-c', core, process.execPath, script]]
  const proc = spawn(cmd, argv, {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise((resolve, reject) => {
    proc.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port))
    proc.once('exit', (code) => reject(new Error(`target exited with ${code}`)))
  })
  return {base: `http://127.0.0.1:${port}`, close: () => proc.kill('SIGTERM')}
}
