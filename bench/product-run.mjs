#!/usr/bin/env node
/**
 * One product run, in its own process (pinned by run-all.js to the client core): `runBenchmark` from dist/ — the
 * same code path as `dual-bench run` — against the bench target, with CPU time and wall time taken over each
 * round only (observer hooks), and peak RSS over the whole process. Prints one JSON line on stdout.
 *
 * Usage: node bench/product-run.mjs '<json>'  with {endpoint, concurrency, requests, stream, maxTokens?,
 *        prometheusUrl?, outputDir, keepRecords?, workers?, clientWarmup?}
 */
import {mkdirSync, writeFileSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {setMaxListeners} from 'node:events'
import {relaunchWithV8Pool} from '../dist/perf/relaunch.js'

// As `dual-bench run` does (bin/run.js): measure in a child Node with the V8 helper pool the product chooses, and
// load the product only there, so that the relaying parent stays small.
if (!relaunchWithV8Pool()) await main()

async function main() {
  const {runBenchmark} = await import('../dist/run/run-benchmark.js')
  const spec = JSON.parse(process.argv[2])
  mkdirSync(spec.outputDir, {recursive: true})
  const dataset = path.join(spec.outputDir, 'dataset.jsonl')
  // Unique prompts, sent unchanged (--cold-start none), so the timed target can key its stamps by prompt text.
  writeFileSync(dataset, Array.from({length: spec.requests}, (_, i) => JSON.stringify({id: `r${i}`, prompt: `r${i}`})).join('\n') + '\n')
  const runDir = path.join(spec.outputDir, 'run')

  const rounds = []
  let mark
  const observer = {
    roundStart() {
      mark = {cpu: process.cpuUsage(), wall: performance.now()}
    },
    roundEnd({summary}) {
      const cpu = process.cpuUsage(mark.cpu)
      const wallS = (performance.now() - mark.wall) / 1000
      rounds.push({
        concurrency: summary.concurrency,
        requests: summary.total_requests,
        failed: summary.failed_requests,
        failures: summary.failures,
        requests_per_s: summary.throughput.requests_per_s,
        duration_s: summary.duration_s,
        wall_s: wallS,
        cpu_s: (cpu.user + cpu.system) / 1e6,
        cpu_pct: (100 * (cpu.user + cpu.system)) / 1e6 / wallS,
        chunk_gap_count: summary.distributions.chunk_gap.count,
        output_tokens: summary.distributions.output_tokens,
        event_loop: summary.event_loop ?? null,
      })
    },
  }

  const config = {
    dataset,
    endpoint: new URL(spec.endpoint),
    api: 'chat',
    model: 'bench',
    concurrency: [spec.concurrency],
    timeoutMs: 600_000,
    maxOutputTokens: spec.maxTokens,
    outputDir: runDir,
    coldStart: 'none',
    stream: spec.stream,
    skipInvalid: false,
    shuffle: false,
    insecure: false,
    force: true,
    retries: 0,
    rounds: 1,
    showSamples: 0,
    headers: {},
    lang: 'en',
    ...(spec.prometheusUrl ? {prometheus: {url: spec.prometheusUrl, metrics: ['bench_requests_total'], ratios: [], timeoutMs: 2000}} : {}),
    ...(spec.workers ? {workers: spec.workers} : {}),
    // The command's default (--client-warmup); `clientWarmup: false` in the spec measures without it.
    clientWarmup: spec.clientWarmup ?? true,
  }
  const warnings = []
  // The run command's two interrupt signals (never aborted here): the transport and the runner listen to them as in a real run.
  const stop = new AbortController().signal
  const cancel = new AbortController().signal
  setMaxListeners(0, stop, cancel)
  const summary = await runBenchmark(config, {log: () => {}, warn: (w) => warnings.push(w), observer, stop, cancel})
  const out = {rounds, warnings, maxRssMb: process.resourceUsage().maxRSS / 1024, status: summary.status}
  if (spec.keepRecords) {
    out.records = readFileSync(path.join(runDir, 'requests.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const r = JSON.parse(l)
        return {sampleId: r.sampleId, ok: r.ok, sentAtMs: r.sentAtMs, firstTokenAtMs: r.firstTokenAtMs, lastTokenAtMs: r.lastTokenAtMs, endedAtMs: r.endedAtMs, outputTokens: r.outputTokens}
      })
    // Offset between this process's record clock (timeOrigin + now) and CLOCK_MONOTONIC, for the target's stamps.
    let best = Infinity
    let offset = 0
    for (let i = 0; i < 200; i++) {
      const a = performance.timeOrigin + performance.now()
      const h = Number(process.hrtime.bigint()) / 1e6
      const b = performance.timeOrigin + performance.now()
      if (b - a < best) {
        best = b - a
        offset = (a + b) / 2 - h
      }
    }
    out.clockOffsetMs = offset
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}
