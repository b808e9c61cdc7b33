import {setMaxListeners} from 'node:events'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {buildRunConfig, type RunFlags} from '../config/run-config.js'
import {loadEnv} from '../config/secrets.js'
import {inputError} from '../errors.js'
import {resolveRunFlags} from '../run/resolve-flags.js'
import {loadResumeState} from '../run/resume.js'
import {createProgress} from '../output/progress.js'
import {cacheEffectLine, renderSamples, roundTable} from '../output/table.js'
import {renderTargets} from '../slo/evaluate-targets.js'
import {renderOverall} from '../summary/overall.js'
import {runBenchmark, type RunSummary} from '../run/run-benchmark.js'

export default class Run extends BaseCommand {
  static override summary = 'Send every sample twice per concurrency level (round 1 cold, round 2 warm) and measure the cache effect.'
  static override description = `For each --concurrency level in order: round 1 sends every sample with at most C requests in flight, then round 2 sends the same request bytes in the same order. TTFT, ITL, latency and tokens are measured per request over streaming SSE; the SLO file gives goodput.

By default every level prepends a short unique salt line to the first message so an earlier level's warm cache cannot make this level's round 1 warm (--cold-start none turns it off); --cache-reset also flushes the server's prefix cache before each level.

Without --endpoint, the built-in simulator is started and used (said loudly in the output and in run.json).

Outputs in --output-dir: metrics_summary.csv, concurrency_<C>_round_<R>.json, requests.jsonl, run.json.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --dataset examples/example_dataset.jsonl',
    '<%= config.bin %> <%= command.id %> --dataset data/narrativeqa.jsonl --endpoint http://localhost:8000/v1/chat/completions --concurrency 5 10 20 --slo-file slo.yaml',
    '<%= config.bin %> <%= command.id %> --dataset data/prompts.jsonl --endpoint http://localhost:8000/v1/completions --model meta-llama/Llama-3.1-8B-Instruct --max-output-tokens 256 --cache-reset vllm',
  ]

  static override enableJsonFlag = true

  static override flags = {
    dataset: Flags.string({char: 'd', summary: 'Dataset file: JSON array, {"data": [...]}, or JSONL. Required (except with --resume).'}),
    endpoint: Flags.string({summary: 'Full URL of the API, e.g. http://host:8000/v1/chat/completions or …/v1/completions. Default: the built-in simulator.'}),
    'num-samples': Flags.integer({char: 'n', summary: 'Use the first N samples (default: all).'}),
    concurrency: Flags.string({char: 'c', summary: 'One or more concurrency levels, run in the order given: --concurrency 5 10 20 (or 5,10,20).', multiple: true}),
    model: Flags.string({summary: 'Model name (default: the first id from GET <base>/v1/models).'}),
    timeout: Flags.integer({summary: 'Per-request timeout in seconds.', default: 300}),
    'max-input-length': Flags.integer({summary: 'Truncate each prompt in the middle to at most N tokens.'}),
    tokenizer: Flags.string({summary: 'Hugging Face tokenizer.json used to count tokens for --max-input-length (default: o200k_base BPE).'}),
    'max-output-tokens': Flags.integer({summary: 'max_tokens sent with every request (overrides per-sample max_tokens).'}),
    temperature: Flags.string({summary: 'Sampling temperature.', parse: async (v) => v}),
    'top-p': Flags.string({summary: 'Top-p sampling.', parse: async (v) => v}),
    'output-dir': Flags.string({char: 'o', summary: 'Where results go (default: results/<timestamp>). A non-empty directory is refused unless --force.'}),
    'slo-file': Flags.string({summary: 'YAML with per-request SLO bounds (slo: {ttft_ms, itl_ms, latency_ms}) for goodput, and optional targets: over aggregates (exit 3 when one fails).'}),
    'api-key': Flags.string({summary: 'API key (default: env OPENAI_API_KEY, or OPENAI_API_KEY / MODEL_KEY in ./.env). Never written anywhere.'}),
    'cold-start': Flags.string({summary: 'salt: a unique salt line per level keeps each round 1 cold; none: send samples unchanged.', options: ['salt', 'none'], default: 'salt'}),
    'cache-reset': Flags.string({summary: 'Flush the server prefix cache before each level: vllm (/reset_prefix_cache), sglang (/flush_cache) or a URL to POST.'}),
    stream: Flags.boolean({summary: 'Stream responses over SSE (needed for TTFT/ITL).', default: true, allowNo: true}),
    'skip-invalid': Flags.boolean({summary: 'Skip (and count) invalid dataset lines instead of stopping.', default: false}),
    shuffle: Flags.boolean({summary: 'Pick a reproducible random subset (with --seed) instead of the first N samples.', default: false}),
    seed: Flags.integer({summary: 'Seed for --shuffle.'}),
    insecure: Flags.boolean({summary: 'Do not verify TLS certificates (said in the output).', default: false}),
    force: Flags.boolean({summary: 'Allow writing into a non-empty --output-dir.', default: false}),
    'prometheus-url': Flags.string({summary: 'Prometheus exposition endpoint to scrape before/after each request and each round, e.g. http://host:8000/metrics.'}),
    'prometheus-metrics': Flags.string({summary: 'Metric names, optionally with label matchers: name{label="v"}. Series are summed.', multiple: true}),
    'prometheus-ratio': Flags.string({summary: 'A ratio of counter deltas: hit_rate=HITS/QUERIES.', multiple: true}),
    'prometheus-preset': Flags.string({summary: 'Cache and load metrics of a known server.', options: ['vllm', 'sglang', 'lmcache', 'llamacpp']}),
    'prometheus-timeout': Flags.integer({summary: 'Seconds to wait for one metrics scrape; a slow endpoint gives empty values, never a failed request.', default: 2}),
    prompt: Flags.string({summary: 'Quick run without a dataset: send this prompt (50 requests per level unless --num-requests).'}),
    system: Flags.string({summary: 'System message for --prompt.'}),
    'num-requests': Flags.integer({summary: 'Requests per level (same as --requests-per-level; for --prompt runs).'}),
    'requests-per-level': Flags.integer({summary: 'Send exactly N requests per level and round, cycling the dataset; repeated samples get a distinct salt so they are not cache hits.'}),
    'single-round': Flags.boolean({summary: 'Run one round per level only (no cold/warm comparison).', default: false}),
    'show-samples': Flags.integer({summary: 'Print the first N successful outputs with their latency, tokens and speed.', default: 0}),
    api: Flags.string({summary: 'API spoken by the endpoint (default: from the endpoint path).', options: ['chat', 'completions', 'responses']}),
    'extra-body': Flags.string({summary: 'JSON object merged into every request body, e.g. \'{"ignore_eos": true}\'.'}),
    header: Flags.string({summary: 'Extra request header NAME:VALUE (repeatable). Values are never printed.', multiple: true}),
    lang: Flags.string({summary: 'Language of the terminal tables and CSV labels: en, or zh (the seed tools\' Chinese terms).', options: ['en', 'zh'], default: 'en'}),
    resume: Flags.string({summary: 'Continue the interrupted run in this output directory with its stored configuration; requests already measured are not sent again.'}),
    retries: Flags.integer({summary: "Retry a failed request (5xx, 429, connection, timeout, broken stream) up to N times with backoff, or after the server's Retry-After (at most 60 s). Off by default: a benchmark must not hide failures.", default: 0}),
    'max-error-rate': Flags.string({summary: 'Abort a level early once more than this fraction of its requests failed (judged after 10 requests), e.g. 0.2.'}),
    'first-token-timeout': Flags.integer({summary: 'Seconds allowed from send to the first token (default: --timeout).'}),
    workers: Flags.integer({
      summary: 'Worker threads for the measured HTTP path (default: 1; on 4+ cores, one per 512 streams of a level, at most half the cores).',
    }),
    'client-warmup': Flags.boolean({
      summary: 'Before the first level, rehearse the client\'s own code path against an in-process simulator (nothing is sent to the endpoint), so the first wave is not timed by cold JavaScript.',
      default: true,
      allowNo: true,
    }),
    'drain-timeout': Flags.integer({summary: 'On Ctrl-C, seconds to wait for in-flight requests before cancelling them (a second Ctrl-C cancels at once).', default: 30}),
    progress: Flags.boolean({summary: 'Show a progress bar on stderr (TTY only).', default: true, allowNo: true}),
  }

  async run(): Promise<RunSummary> {
    const {flags, raw} = await this.parse(Run)
    const number = (name: string, v: string | undefined) => {
      if (v === undefined) return undefined
      const n = Number(v)
      if (v.trim() === '' || !Number.isFinite(n)) throw inputError(`--${name} must be a number, got "${v}"`)
      return n
    }
    const given: Record<string, unknown> = {
      ...flags,
      temperature: number('temperature', flags.temperature),
      'top-p': number('top-p', flags['top-p']),
      'max-error-rate': number('max-error-rate', flags['max-error-rate']),
    }
    const resume = flags.resume ? await loadResumeState(flags.resume) : undefined
    const env = loadEnv()
    // Only flags typed on the command line count as "given" when checking a resume against the stored ones.
    const typed = raw.flatMap((t) => (t.type === 'flag' ? [t.flag] : []))
    const {flags: runFlags, notes} = resolveRunFlags(given, typed, env, resume)
    for (const note of notes) this.logToStderr(note)
    const config = buildRunConfig(runFlags as unknown as RunFlags, {apiKey: env.apiKey})

    const progress = flags.progress && !this.jsonEnabled() ? createProgress() : undefined
    if (progress) this.onCleanup(() => progress.stop())
    const {stop, cancel} = this.handleSignals(flags['drain-timeout'])
    const summary = await runBenchmark(config, {
      stop,
      cancel,
      flags: runFlags,
      resume,
      observer: {
        ...progress,
        roundEnd: (e) => {
          progress?.roundEnd?.(e)
          this.log(roundTable(e.summary, {lang: config.lang, stream: config.stream}))
        },
      },
      log: (line) => this.log(line),
      warn: (line) => this.logToStderr(`Warning: ${line}`),
    })
    this.log('')
    for (const level of summary.levels) {
      const [cold, warm] = level.rounds
      if (level.cache && cold && warm) this.log(cacheEffectLine(level.cache, cold, warm, config.lang))
    }
    if (summary.samples.length > 0) this.log(`\n${renderSamples(summary.samples)}`)
    this.log(`\n${renderOverall(summary.overall)}`)
    if (summary.targets) this.log(`\n${renderTargets(summary.targets)}`)
    this.log(`\nResults in ${summary.outputDir}: ${summary.files.join(', ')}`)
    if (summary.simulator) this.log('(Measured against the BUILT-IN SIMULATOR, not a model server.)')
    const exitCode = summary.status === 'interrupted' ? 130 : summary.targetsFailed ? 3 : 0
    if (exitCode !== 0) {
      if (this.jsonEnabled()) this.logJson(summary)
      if (exitCode === 3) process.stderr.write('Error: at least one target in the SLO file failed (exit 3).\n')
      this.exit(exitCode)
    }
    return summary
  }

  /**
   * First SIGINT/SIGTERM: start nothing new and let in-flight requests finish (at most `drainS` seconds);
   * second: cancel them (recorded as cancelled). Either way every summary is written, then exit 130.
   */
  private handleSignals(drainS: number): {stop: AbortSignal; cancel: AbortSignal} {
    const stop = new AbortController()
    const cancel = new AbortController()
    // Listened to by each level's transport and by the run's waits, a few at a time; many levels are not a leak.
    setMaxListeners(0, stop.signal, cancel.signal)
    const onSignal = (signal: NodeJS.Signals) => {
      if (!stop.signal.aborted) {
        stop.abort()
        process.stderr.write(`\n${signal}: finishing in-flight requests (up to ${drainS} s; press Ctrl-C again to cancel them), then writing results…\n`)
        setTimeout(() => cancel.abort(), drainS * 1000).unref()
      } else if (!cancel.signal.aborted) {
        process.stderr.write(`\n${signal}: cancelling in-flight requests…\n`)
        cancel.abort()
      }
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    this.onCleanup(() => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    })
    return {stop: stop.signal, cancel: cancel.signal}
  }
}
