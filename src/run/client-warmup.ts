import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {createMeasuredTransport, preconnect} from '../http/measured-transport.js'
import type {ApiKind} from '../http/transport.js'
import type {Sample} from '../dataset/sample.js'
import {recordsInPlanOrder, recordWriter, RoundLineIndex, writeRoundFiles} from '../output/round-files.js'
import {JsonlAppender} from '../output/write.js'
import {nowMs} from '../record/clock.js'
import {runPlan} from '../runner/runner.js'
import {buildPlan} from '../runner/plan.js'
import {startSimulator, type Simulator} from '../sim/index.js'
import type {Slo} from '../slo/slo.js'

/**
 * Rehearsal size. Per-request functions (the runner's loop, a request's set-up and finish, the HTTP connection's)
 * are called once per request, so they reach V8's optimizing tier only after many: with 2 × 192 requests several
 * of them were still compiled during the measured waves; with 2048 in all few are.
 */
/**
 * Two levels, each run on its own as a run's levels are: each has its own transport and its own record writer, so V8
 * sees those per-level functions (the transport's `send`, its redactor, the writer) as more than one closure and does
 * not tie the optimized code to the rehearsal's own, which the run's first requests would then throw away ("wrong
 * call target").
 */
const LEVELS = [64, 32]
/** Requests per round of each level. */
const REQUESTS = 512
const TOKENS = 16
/**
 * The simulator's inter-token gap: 1 ms puts each token in its own write, as a real server does, so the per-read code
 * (the socket callback, the chunked framing) gets hot too. With every token in one write it was first optimized during
 * the run's first wave: sampled with perf, the compiler thread then took ≈ 30 % of the client core while the first
 * tokens arrived. Costs ≈ 0.5 s of rehearsal.
 */
const ITL_MS = 1
const MODEL = 'dual-bench-warmup'
/** Longest wait for the background compiler to finish after the rehearsal. */
const QUIET_LIMIT_MS = 500
/** A 10 ms window in which the whole process used less CPU than this counts as quiet. */
const QUIET_CPU_MS = 1

export interface WarmupOptions {
  api: ApiKind
  stream: boolean
  slo?: Slo
  /** Requests per rehearsal round of each level (default REQUESTS; tests use fewer). */
  requests?: number
  /** The run's Ctrl-C signal: the rehearsal stops starting requests when it fires. */
  stop?: AbortSignal
  /**
   * The run's second-Ctrl-C signal, which the measured path watches: the rehearsal must see the very signal the run
   * will (see warmUpClient).
   */
  cancel?: AbortSignal
}

export interface WarmupResult {
  /** Rehearsal requests that completed successfully (all of them unless something is broken). */
  ok: number
  requests: number
  /** Wall time of the rehearsal and of the wait for a quiet process after it. */
  rehearsalMs: number
  quietMs: number
  /** Cut short by `stop`. */
  stopped: boolean
}

/**
 * Rehearses the measured path before the first level's clock starts: the runner and the measured transport run two
 * levels of two rounds against the built-in simulator in this process, on 127.0.0.1 (nothing reaches the endpoint),
 * and every result (records, round files, in a temporary directory) is dropped. Then it waits until the process
 * has gone quiet, i.e. V8's background compiler has finished the code the rehearsal made hot.
 *
 * Why: a fresh process runs the per-chunk and per-request code (HTTP parsing, SSE, JSON, records) interpreted,
 * several times slower, and V8 then compiles it on background threads that share the client's core; sampled with
 * perf, that compiler was most of the CPU time inside late first-token stamps. Both land in the first waves of the
 * first level. Measured side by side (bench/run-all.js (c), one client core, 256 streams, four runs): TTFT error p50
 * 0.55–1.6 → 0.17–0.24 ms, p99 4.5–9.2 → 2.6–3.9 ms; the first wave alone, p99 ≈ 5–18 → ≈ 0.3–0.7 ms in most runs. The simulator
 * speaks the endpoint's dialect (chat, completions, Responses), so the code warmed is the code used; a real server's
 * chunks have other fields, which costs a recompile of a few functions, not of the whole path.
 */
export async function warmUpClient(opts: WarmupOptions): Promise<WarmupResult> {
  // The run's own record path (serialize, append, note the line) and round end, in a directory removed afterwards.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-warmup-'))
  const jsonl = path.join(dir, 'requests.jsonl')
  // A buffer of a few lines: the warm-up's few records then fill it, as a wave's end does in a run.
  const appender = new JsonlAppender(jsonl, 8 * 1024)
  const started = nowMs()
  let sim: Simulator | undefined
  let ok = 0
  try {
    // Shape variety: most chunks are read in place (chunk-scan.ts), so JSON.parse's objects (a stream's last chunks)
    // are few; from one simulator shape alone, V8 optimized their readers for it, and the run's server's own shape
    // threw that code away at the first wave's end, recompiled (4–6 ms) as the next first tokens arrived.
    sim = await startSimulator({model: MODEL, itlMs: ITL_MS, baseTtftMs: 0, prefillMsPerToken: 0, serialPrefill: false, defaultOutputTokens: TOKENS, shapeVariety: true})
    const endpoint = new URL(opts.api === 'chat' ? '/v1/chat/completions' : opts.api === 'completions' ? '/v1/completions' : '/v1/responses', sim.url)
    // Planned like the real run (buildPlan), so the objects the hot code sees have the same shapes; half the samples
    // carry an input length, as truncated datasets do, so both record shapes are warm.
    const size = opts.requests ?? REQUESTS
    const samples: Sample[] = Array.from({length: size}, (_, i) => ({
      id: `warmup-${i}`,
      messages: [{role: 'user', content: `client warm-up ${i}: a short prompt for the rehearsal`}],
      ...(i % 2 === 0 ? {inputLength: {original: 60, truncated: 50, unit: 'chars' as const}} : {}),
    }))
    const body = {api: opts.api, model: MODEL, stream: opts.stream, includeUsage: true}
    const plan = buildPlan(samples, LEVELS, body, {rounds: 2, salts: LEVELS.map((c) => `[dual-bench warm-up ${c}]`)})
    // The run's own signals, so the code that reads them is warmed on them: a signal's hidden class depends on its
    // history (setMaxListeners, a listener added once), and code optimized for a fresh one was thrown away by the
    // run's first requests ("wrong map"), then re-optimized only after a few waves, on the client's core, at wave
    // boundaries. A second Ctrl-C during the rehearsal cancels its requests, which is what it means anyway.
    const stop = opts.stop ?? new AbortController().signal
    const cancel = opts.cancel ?? new AbortController().signal
    const lines = new RoundLineIndex(size)
    for (const level of plan) {
      if (stop.aborted) break
      await runPlan([level], {
        createTransport: (maxSockets) => createMeasuredTransport({endpoint, timeoutMs: 30_000, maxSockets, api: opts.api, stream: opts.stream}),
        preconnect: (transport, n) => preconnect(transport, n),
        onRecord: recordWriter(appender, lines),
        onRound: async (summary, columns) => {
          ok += summary.successful_requests
          // The run's round end too: records parsed back from requests.jsonl have another hidden class than those
          // built in flight, and code that first met them in the run was thrown away there, then re-optimized
          // during the next round's first wave.
          await appender.flush()
          const records = recordsInPlanOrder(jsonl, columns.size, lines.take(summary.concurrency, summary.round))
          await writeRoundFiles({jsonFile: path.join(dir, 'round.json'), csvFile: path.join(dir, 'round.csv'), configuration: {}, summary, slo: opts.slo, records})
        },
        slo: opts.slo,
        session: 1,
        stop,
        cancel,
      })
    }
  } finally {
    await Promise.all([sim?.close(), appender.close()])
    await rm(dir, {recursive: true, force: true})
  }
  const rehearsalMs = nowMs() - started
  const stopped = opts.stop?.aborted === true
  return {ok, requests: LEVELS.length * 2 * (opts.requests ?? REQUESTS), rehearsalMs, quietMs: stopped ? 0 : await quiet(), stopped}
}

/**
 * The run's warm-up: {@link warmUpClient}, one line saying what it did, and a warning instead of a failed run when it
 * could not (a machine where nothing may listen on 127.0.0.1 still gets its benchmark, with a cold first wave).
 */
export async function warmUpClientAndSay(opts: WarmupOptions, say: {log(line: string): void; warn(line: string): void}): Promise<void> {
  const warm = await warmUpClient(opts).catch((error: Error) => error)
  if (warm instanceof Error) return say.warn(`Client warm-up skipped (${warm.message}); the first wave may be timed by cold code.`)
  if (warm.stopped) return
  const seconds = ((warm.rehearsalMs + warm.quietMs) / 1000).toFixed(1)
  say.log(`Client warm-up: ${warm.requests} requests to an in-process simulator in ${seconds} s, nothing sent to the endpoint (--no-client-warmup skips it).`)
  if (warm.ok < warm.requests) say.warn(`Client warm-up: only ${warm.ok} of ${warm.requests} rehearsal requests succeeded; the first wave may be timed by cold code.`)
}

/** Waits (at most QUIET_LIMIT_MS) for a 10 ms window in which the process used almost no CPU; returns the wait. */
async function quiet(): Promise<number> {
  const started = nowMs()
  let last = process.cpuUsage()
  while (nowMs() - started < QUIET_LIMIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    const used = process.cpuUsage(last)
    last = process.cpuUsage()
    if ((used.user + used.system) / 1000 < QUIET_CPU_MS) break
  }
  return nowMs() - started
}
