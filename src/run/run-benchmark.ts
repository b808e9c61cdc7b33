import {readFile} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import path from 'node:path'
import {redactConfig, type RunConfig} from '../config/run-config.js'
import {defaultWorkers} from '../config/workers.js'
import {loadDataset, loadTokenizer, sha256File, truncateSamples} from '../dataset/index.js'
import type {Sample} from '../dataset/sample.js'
import {inputError} from '../errors.js'
import {listModels, resetPrefixCache} from '../http/control.js'
import {createMeasuredTransport, isStreamOptionsRejection, preconnect} from '../http/measured-transport.js'
import {maxTokensFieldOf, type MaxTokensField} from '../http/request-body.js'
import {isMaxTokensRejection, isRedirect, redirectAdvice} from '../http/request-errors.js'
import {createThreadedTransport} from '../http/threaded-transport.js'
import type {PlannedRequest, TransportOptions} from '../http/transport.js'
import {createPrometheusProbe, type PrometheusProbe} from '../metrics/probe.js'
import {summaryCsv} from '../output/csv.js'
import {recordsInPlanOrder, recordWriter, RoundLineIndex, writeRoundFiles} from '../output/round-files.js'
import {prometheusBlocks, summaryBlocks} from '../output/summary-rows.js'
import {checkOutputDir, JsonlAppender, openOutputDir, writeFileAtomic, writeJson} from '../output/write.js'
import {nowMs} from '../record/clock.js'
import type {RequestRecord} from '../record/record.js'
import type {RunObserver} from '../runner/events.js'
import {type BodyOptions, buildPlan, newSalt, PlanSamples, repeatSamples} from '../runner/plan.js'
import {type LevelResult, runPlan} from '../runner/runner.js'
import {startSimulator, type Simulator} from '../sim/index.js'
import {anyTargetFailed, evaluateTargets, renderTargets, targetCoverageWarnings, type TargetResult} from '../slo/evaluate-targets.js'
import {parseSloFile, unmeasuredBoundsWarning, type SloFile} from '../slo/slo.js'
import {type OverallSummary, overallSummary, overallSummaryJson} from '../summary/overall.js'
import {newConnectionsWarning} from '../summary/new-connections.js'
import {type CacheEffect, cacheEffect, type RoundSummary} from '../summary/round-summary.js'
import {VERSION} from '../version.js'
import {warmUpClientAndSay} from './client-warmup.js'
import {storableFlags, type ResumeState} from './resume.js'

/** Share of prompt tokens served from cache in round 1 above which round 1 is reported as not cold. */
export const WARM_ROUND1_SHARE = 0.1
/** --max-error-rate is judged only after this many requests of a level, so one early failure cannot abort it. */
export const MIN_REQUESTS_FOR_ERROR_RATE = 10

export interface RunSummary {
  outputDir: string
  endpoint: string
  model: string
  simulator: boolean
  /** complete: every planned request ran; interrupted: stopped by a signal (exit 130). */
  status: 'complete' | 'interrupted'
  levels: {concurrency: number; rounds: RoundSummary[]; cache: CacheEffect | null; aborted?: string}[]
  overall: OverallSummary
  /** Pass/fail of the SLO file's `targets:` (null without targets); `run` exits 3 when one fails. */
  targets: TargetResult[] | null
  targetsFailed: boolean
  /** The first --show-samples successful requests, with their outputs. */
  samples: RequestRecord[]
  warnings: string[]
  files: string[]
}

export interface RunIo {
  observer?: RunObserver
  /** Human output (tables). */
  log(line: string): void
  /** Warnings, also collected into RunSummary.warnings. */
  warn(line: string): void
  /** Aborted on the first Ctrl-C / SIGTERM: start nothing new. */
  stop?: AbortSignal
  /** Aborted on the second signal (or when the drain time is up): cancel in-flight requests. */
  cancel?: AbortSignal
  /** The flags as given, stored in run.json so --resume can rebuild the configuration. */
  flags?: Record<string, unknown>
  /** State of the run being resumed. */
  resume?: ResumeState
}

/** One `dual-bench run`: load inputs, check the endpoint, run every level twice, write every output. */
export async function runBenchmark(config: RunConfig, io: RunIo): Promise<RunSummary> {
  const warnings: string[] = []
  const warn = (msg: string) => {
    warnings.push(msg)
    io.warn(msg)
  }
  const startedAt = new Date()
  const sloFile = config.sloFile ? await loadSloFile(config.sloFile) : undefined
  const slo = sloFile?.slo
  const unmeasured = slo && unmeasuredBoundsWarning(slo, {stream: config.stream, file: config.sloFile!})
  if (unmeasured) warn(unmeasured)
  // Built (and its selectors validated) before anything is sent.
  let probe: PrometheusProbe | undefined = config.prometheus ? createPrometheusProbe({...config.prometheus, onWarning: warn}) : undefined
  const {planned, sampleCount} = await loadPlanned(config, warn)
  if (!io.resume) await checkOutputDir(config.outputDir, {allowExisting: config.force})

  let sim: Simulator | undefined
  let endpoint = config.endpoint
  if (!endpoint) {
    sim = await startSimulator({})
    endpoint = new URL(config.api === 'completions' ? '/v1/completions' : config.api === 'responses' ? '/v1/responses' : '/v1/chat/completions', sim.url)
    warn(`No --endpoint given: running against the BUILT-IN SIMULATOR at ${endpoint} (not a real model server).`)
    // The simulator exposes vLLM-style metrics: show the server-side view of the cache without extra flags.
    probe ??= createPrometheusProbe({url: `${sim.url}/metrics`, metrics: ['lmcache_hit_rate'], preset: 'vllm', onWarning: warn})
  } else if (config.endpointGiven) {
    io.log(`--endpoint ${config.endpointGiven} is a base URL: sending requests to ${endpoint}`)
  }
  try {
    const control = {apiKey: config.apiKey, timeoutMs: Math.min(config.timeoutMs, 30_000), insecure: config.insecure}
    const model = config.model ?? (await defaultModel(endpoint, control))
    const transportOptions = (maxSockets: number): TransportOptions => ({
      endpoint: endpoint!,
      apiKey: config.apiKey,
      headers: config.headers,
      timeoutMs: config.timeoutMs,
      firstTokenTimeoutMs: config.firstTokenTimeoutMs,
      insecure: config.insecure,
      maxSockets,
      api: config.api,
      stream: config.stream,
    })
    if (config.insecure) warn('--insecure: TLS certificates are NOT verified.')
    const bodyOptions: BodyOptions = {
      api: config.api,
      model,
      maxTokens: config.maxOutputTokens,
      temperature: config.temperature,
      topP: config.topP,
      stream: config.stream,
      includeUsage: true,
      extraBody: config.extraBody,
    }
    Object.assign(bodyOptions, await preflight(bodyOptions, transportOptions(1), warn))

    if (probe) {
      const missing = probe.missing(await probe.fresh())
      if (missing.length > 0) warn(`--prometheus-url ${config.prometheus!.url} does not expose: ${missing.join(', ')} (values will be empty; try dual-bench prom-check)`)
    }

    // A resumed run must send the very same bytes, so it reuses the stored salts.
    const storedSalts = io.resume?.runJson.salts
    const salts = config.concurrency.map((c) =>
      storedSalts ? (storedSalts[String(c)] ?? undefined) : config.coldStart === 'salt' ? newSalt() : undefined,
    )
    // Each level's bodies are built when the level starts (one level's bodies in memory at a time).
    const plan = buildPlan(planned, config.concurrency, bodyOptions, {rounds: config.rounds, salts})
    const configuration = {
      ...redactConfig(config),
      endpoint: endpoint.toString(),
      model,
      num_samples: sampleCount,
      requests_per_round: planned.size,
      simulator: Boolean(sim),
      stream_options_include_usage: bodyOptions.includeUsage,
      max_tokens_field: config.api === 'responses' ? 'max_output_tokens' : maxTokensFieldOf(bodyOptions),
    }
    const session = io.resume?.session ?? 1
    type Session = {session: number; started_at: string; ended_at: string | null; status: string}
    const sessions: Session[] = [...((io.resume?.runJson.sessions as Session[] | undefined) ?? []), {session, started_at: startedAt.toISOString(), ended_at: null, status: 'running'}]
    const runJson = {
      tool: 'dual-bench',
      version: VERSION,
      started_at: (io.resume?.runJson.started_at as string) ?? startedAt.toISOString(),
      ended_at: null as string | null,
      status: 'running' as 'running' | RunSummary['status'],
      configuration,
      flags: io.resume?.flags ?? storableFlags(io.flags ?? {}),
      dataset: config.dataset
        ? {path: path.resolve(config.dataset), sha256: await sha256File(config.dataset), samples: sampleCount}
        : {prompt: true, samples: sampleCount},
      salts: Object.fromEntries(config.concurrency.map((c, i) => [c, salts[i] ?? null])),
      slo: slo ?? null,
      targets: sloFile?.targets ?? null,
      target_results: null as TargetResult[] | null,
      simulator: sim ? {url: sim.url, note: 'built-in simulator: numbers describe the simulator, not a model server'} : null,
      sessions,
    }
    if (io.resume) {
      const stored = io.resume.runJson.dataset as {sha256?: string} | undefined
      if (stored?.sha256 && 'sha256' in runJson.dataset && stored.sha256 !== runJson.dataset.sha256) {
        throw inputError(`--resume ${config.outputDir}: the dataset ${config.dataset} changed since the run started (SHA-256 differs); refusing to mix results`)
      }
      warn(`Resuming ${config.outputDir}: ${io.resume.completed.size} request(s) already measured are kept and not sent again.`)
    }
    const runJsonFile = path.join(config.outputDir, 'run.json')
    // Not before the preflight: a run that fails to start must leave an earlier run's files alone, and no empty directory.
    if (!io.resume) await openOutputDir(config.outputDir)
    await writeJson(runJsonFile, runJson)

    const jsonlFile = path.join(config.outputDir, 'requests.jsonl')
    const appender = new JsonlAppender(jsonlFile)
    // Rounds keep no records (memory stays bounded): their rows are read back from requests.jsonl at round end.
    const lines = new RoundLineIndex(planned.size)
    const files = new Set(['run.json', 'requests.jsonl'])
    const shown: RequestRecord[] = []
    // Per-sample TTFT of every round, for the paired cold/warm speed-up and its confidence interval.
    const ttfts = new Map<string, Float64Array>()
    let levels: LevelResult[]
    try {
      const toMeasure = plan.reduce((n, level) => n + level.rounds * level.size, 0) - (io.resume?.completed.size ?? 0)
      if (config.clientWarmup && toMeasure > 0) {
        await warmUpClientAndSay({api: config.api, stream: config.stream, slo, stop: io.stop, cancel: io.cancel}, {log: (line) => io.log(line), warn})
      }
      levels = await runPlan(plan, {
        createTransport: (maxSockets) => {
          const workers = config.workers ?? defaultWorkers(availableParallelism(), maxSockets)
          if (workers <= 1) return createMeasuredTransport(transportOptions(maxSockets))
          io.log(`Concurrency ${maxSockets}: the measured path runs on ${workers} worker threads.`)
          return createThreadedTransport({...transportOptions(maxSockets), workers, onThreadLost: warn})
        },
        preconnect: (transport, n) => preconnect(transport, n),
        resetCache: config.cacheReset ? () => resetPrefixCache(config.cacheReset!, endpoint!, control) : undefined,
        onRecord: recordWriter(appender, lines),
        onRound: async (summary, columns) => {
          const {concurrency: level, round} = summary
          const json = `concurrency_${level}_round_${round}.json`
          const csv = `requests_c${level}_r${round}.csv`
          const connectWarning = newConnectionsWarning(summary)
          if (connectWarning) warn(connectWarning)
          await appender.flush()
          // Records of an earlier invocation (--resume) are lines of this same requests.jsonl, read back like the rest.
          const earlier = io.resume?.completed.round(level, round, columns.size)
          const located = lines.take(level, round)
          const records = recordsInPlanOrder(jsonlFile, columns.size, located, earlier)
          async function* showing(): AsyncGenerator<RequestRecord> {
            for await (const r of records) {
              // Chunk offsets are per-token bulk that --show-samples never prints.
              if (r.ok && shown.length < config.showSamples) shown.push({...r, chunkOffsetsMs: undefined})
              yield r
            }
          }
          await writeRoundFiles({jsonFile: path.join(config.outputDir, json), csvFile: path.join(config.outputDir, csv), configuration, summary, slo, records: showing()})
          files.add(json).add(csv)
          ttfts.set(`${level}/${round}`, columns.ttft)
        },
        observer: {...io.observer, warn},
        probe,
        slo,
        stop: io.stop,
        cancel: io.cancel,
        completed: io.resume?.completed,
        session,
        retries: config.retries,
        maxErrorRate: config.maxErrorRate === undefined ? undefined : {rate: config.maxErrorRate, minRequests: MIN_REQUESTS_FOR_ERROR_RATE},
      })
    } finally {
      await appender.close()
    }

    const status: RunSummary['status'] = io.stop?.aborted ? 'interrupted' : 'complete'
    const summaries = levels.flatMap((l) => l.rounds)
    await writeFileAtomic(path.join(config.outputDir, 'metrics_summary.csv'), summaryCsv(summaries, summaryBlocks(prometheusBlocks(summaries)), config.lang))
    files.add('metrics_summary.csv')
    const overall = overallSummary(
      levels.map((l) => ({concurrency: l.concurrency, rounds: l.rounds, ttftByIndex: l.rounds.map((r) => ttfts.get(`${l.concurrency}/${r.round}`)!)})),
    )
    await writeJson(path.join(config.outputDir, 'overall_summary.json'), overallSummaryJson(overall))
    files.add('overall_summary.json')
    let targets: TargetResult[] | null = null
    if (sloFile?.targets) {
      targets = evaluateTargets(sloFile.targets, summaries)
      for (const w of targetCoverageWarnings(sloFile.targets, summaries)) warn(w)
      runJson.target_results = targets
    }
    runJson.ended_at = new Date().toISOString()
    runJson.status = status
    sessions[sessions.length - 1] = {...sessions[sessions.length - 1], ended_at: runJson.ended_at, status}
    await writeJson(runJsonFile, runJson)
    if (status === 'interrupted') {
      warn(`Interrupted: every finished request is kept in ${config.outputDir}. Continue with: dual-bench run --resume ${config.outputDir}`)
    }

    const result: RunSummary['levels'] = levels.map((l) => {
      const [cold, warm] = l.rounds
      const effect = cold && warm ? cacheEffect(cold, warm) : null
      if (effect && effect.round1_cached_share !== null && effect.round1_cached_share > WARM_ROUND1_SHARE) {
        warn(
          `Concurrency ${l.concurrency}: round 1 was not cold — the server reports ${(100 * effect.round1_cached_share).toFixed(1)}% of prompt tokens ` +
            'served from cache. Either the cache was already warm (keep --cold-start salt, add --cache-reset) or the dataset shares ' +
            'prefixes across samples (expected for shared-prefix datasets).',
        )
      }
      return {concurrency: l.concurrency, rounds: l.rounds, cache: effect, ...(l.aborted ? {aborted: l.aborted} : {})}
    })
    return {
      outputDir: config.outputDir,
      endpoint: endpoint.toString(),
      model,
      simulator: Boolean(sim),
      status,
      levels: result,
      overall,
      targets,
      targetsFailed: targets !== null && anyTargetFailed(targets),
      samples: shown,
      warnings,
      files: [...files],
    }
  } finally {
    await sim?.close()
  }
}

async function loadSloFile(file: string): Promise<SloFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw inputError(`--slo-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
  return parseSloFile(text, file)
}

async function loadSamples(config: RunConfig, warn: (m: string) => void): Promise<Sample[]> {
  if (config.prompt) {
    const messages: Sample['messages'] = config.prompt.system ? [{role: 'system', content: config.prompt.system}] : []
    messages.push({role: 'user', content: config.prompt.user})
    return [{id: 'prompt', messages}]
  }
  const dataset = config.dataset!
  const {samples, skipped, skippedExamples, warnings} = await loadDataset(dataset, {
    numSamples: config.numSamples,
    skipInvalid: config.skipInvalid,
    shuffle: config.shuffle,
    seed: config.seed,
  })
  if (skipped > 0) warn(`--skip-invalid: skipped ${skipped} invalid sample(s), e.g. ${skippedExamples.slice(0, 3).join('; ')}`)
  for (const w of warnings) warn(w)
  if (samples.length === 0) throw inputError(`--dataset ${dataset}: no samples to send`)
  if (config.maxInputLength === undefined) return samples
  return truncateSamples(samples, config.maxInputLength, await loadTokenizer(config.tokenizer))
}

/**
 * The samples as the plan keeps them (packed, --requests-per-level applied) and how many the dataset gave. A
 * function of its own so the loaded Sample[] is garbage once packed: held by a local of runBenchmark it would stay
 * reachable from the suspended async frame for the whole run (~20 MB of heap for 100 000 small samples).
 */
async function loadPlanned(config: RunConfig, warn: (m: string) => void): Promise<{planned: PlanSamples; sampleCount: number}> {
  const samples = await loadSamples(config, warn)
  const entries = config.requestsPerLevel === undefined ? samples : repeatSamples(samples, config.requestsPerLevel)
  return {planned: new PlanSamples(entries), sampleCount: samples.length}
}

async function defaultModel(endpoint: URL, control: {apiKey?: string; timeoutMs: number; insecure?: boolean}): Promise<string> {
  const models = await listModels(endpoint, control)
  if (models.length === 0) throw inputError(`${endpoint.origin}/v1/models lists no model`, 'Pass --model NAME.')
  return models[0]
}

/** What the preflight found the server accepts; the whole run sends its bodies this way. */
interface PreflightResult {
  includeUsage: boolean
  maxTokensField: MaxTokensField
}

/**
 * One unmeasured request before the clock starts (as vLLM's benchmark does): proves the endpoint answers and
 * finds out whether it accepts `stream_options.include_usage` and `max_tokens`. A rejection naming either
 * is retried once without it (chunk counting / `max_completion_tokens`), in whichever order the server
 * complains; the warning for a fallback is printed only when the request it leads to succeeds. Its prompt
 * is a fixed tiny text, so it warms no sample's prefix.
 */
async function preflight(body: BodyOptions, transportOptions: TransportOptions, warn: (m: string) => void): Promise<PreflightResult> {
  const transport = createMeasuredTransport(transportOptions)
  try {
    const probe: Sample = {id: 'preflight', messages: [{role: 'user', content: `dual-bench preflight ${nowMs()}`}]}
    const send = async (found: PreflightResult): Promise<RequestRecord> => {
      const [level] = buildPlan([probe], [1], {...body, maxTokens: 4, ...found}, {rounds: 1, salts: [undefined]})
      const request: PlannedRequest = {...level.prepare()(1, 0), level: 0}
      return transport.send(request, {queuedAtMs: nowMs()})
    }
    let found: PreflightResult = {includeUsage: body.stream && body.includeUsage, maxTokensField: maxTokensFieldOf(body)}
    let record = await send(found)
    const fallbacks: string[] = []
    // At most one resend per fallback: a server that rejects both fields names one per answer.
    for (let i = 0; i < 2 && !record.ok; i++) {
      if (body.api !== 'responses' && found.maxTokensField === 'max_tokens' && isMaxTokensRejection(record)) {
        found = {...found, maxTokensField: 'max_completion_tokens'}
        fallbacks.push('The server rejected max_tokens: the output cap is sent as max_completion_tokens for the whole run.')
      } else if (found.includeUsage && isStreamOptionsRejection(record)) {
        found = {...found, includeUsage: false}
        fallbacks.push('The server rejected stream_options.include_usage: output tokens will be counted from content chunks (approximate).')
      } else break
      record = await send(found)
    }
    if (!record.ok) {
      const e = record.error!
      const hint =
        e.category === 'connection' && /cert|tls|ssl/i.test(e.message)
          ? 'The server certificate is not trusted: for a self-signed certificate pass --insecure; for a plain-HTTP server use http://.'
          : e.category === 'connection'
          ? 'Is the server running? Check --endpoint.'
          : isRedirect(record)
            ? redirectAdvice(transportOptions.endpoint, e.httpStatus!, e.location)
          : e.httpStatus === 401 || e.httpStatus === 403
            ? 'Check --api-key / OPENAI_API_KEY.'
            : e.httpStatus === 404
              ? 'Check the --endpoint path and --model.'
              : 'Check --endpoint, --model and the server log.'
      throw inputError(`${transportOptions.endpoint.origin}: the preflight request failed (${e.category}${e.httpStatus ? ` ${e.httpStatus}` : ''}: ${e.message})`, hint)
    }
    for (const line of fallbacks) warn(line)
    return found
  } finally {
    await transport.close()
  }
}

