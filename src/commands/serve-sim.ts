import {Command, Flags} from '@oclif/core'
import {SIM_DEFAULTS, startSimulator, type SimOptions, type UsageStyle} from '../sim/index.js'

/** oclif has no float flag; this one names the flag and the accepted range in its error. */
const floatFlag = (opts: {summary: string; default: number; min?: number; max?: number}) =>
  Flags.custom<number>({
    summary: opts.summary,
    default: opts.default,
    async parse(input, _ctx, flag) {
      const v = Number(input)
      const min = opts.min ?? 0
      const max = opts.max ?? Number.POSITIVE_INFINITY
      if (input.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
        const range = Number.isFinite(max) ? `between ${min} and ${max}` : `>= ${min}`
        throw new Error(`--${flag.name} must be a number ${range}, got "${input}"`)
      }
      return v
    },
  })()

const rate = (what: string) => floatFlag({summary: `Probability (0..1) that a request ${what}.`, default: 0, max: 1})

/** Runs the built-in OpenAI-compatible simulator until SIGINT/SIGTERM. */
export default class ServeSim extends Command {
  static override summary = 'Run the built-in OpenAI-compatible LLM server simulator (no GPU needed).'

  static override description = `Serves /v1/chat/completions and /v1/completions (streaming and not), /v1/models and a vLLM-style Prometheus /metrics.
It models a prefix (KV) cache: prompts are split into ${SIM_DEFAULTS.blockSize}-token blocks with chained hashes in an LRU, so a repeated prompt reports cached_tokens and a much lower TTFT, which is exactly what dual-bench's cold/warm rounds measure.
TTFT = base + uncached prompt tokens × per-token prefill cost (one prefill at a time, like one GPU); output tokens then stream at a steady inter-token latency.
Fault injection (--fail-rate, --drop-rate, --garbage-rate, --slow-rate, --error-event-rate) is reproducible with --seed.
POST /reset_prefix_cache or /flush_cache clears the cache; GET /sim/stats shows the server's own counters.`

  static override examples = [
    {description: 'Serve on port 8000, then benchmark it from another terminal:', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'A slower server with a small cache, so evictions show up:', command: '<%= config.bin %> <%= command.id %> --port 8001 --prefill-ms-per-token 0.2 --cache-blocks 512'},
    {description: 'Inject faults reproducibly (5% HTTP 500, 2% dropped streams):', command: '<%= config.bin %> <%= command.id %> --fail-rate 0.05 --drop-rate 0.02 --seed 7'},
    {description: 'Behave like llama.cpp (usage + timings in the last chunk) and reject stream_options:', command: '<%= config.bin %> <%= command.id %> --usage-style llamacpp --reject-stream-options'},
  ]

  static override flags = {
    port: Flags.integer({summary: 'Port to listen on (0 picks a free port).', default: 8000, min: 0, max: 65535}),
    host: Flags.string({summary: 'Interface to listen on.', default: SIM_DEFAULTS.host}),
    model: Flags.string({summary: 'Model name to serve; requests naming another model get 404.', default: SIM_DEFAULTS.model}),
    'itl-ms': floatFlag({summary: 'Inter-token latency in ms.', default: SIM_DEFAULTS.itlMs}),
    'base-ttft-ms': floatFlag({summary: 'Fixed part of TTFT in ms, paid even on a full cache hit.', default: SIM_DEFAULTS.baseTtftMs}),
    'prefill-ms-per-token': floatFlag({summary: 'Prefill cost in ms per uncached prompt token.', default: SIM_DEFAULTS.prefillMsPerToken}),
    'output-tokens': Flags.integer({summary: 'Output tokens when a request sets no max_tokens.', default: SIM_DEFAULTS.defaultOutputTokens, min: 1}),
    'block-size': Flags.integer({summary: 'Tokens per cache block.', default: SIM_DEFAULTS.blockSize, min: 1}),
    'cache-blocks': Flags.integer({summary: 'Prefix cache capacity in blocks (LRU).', default: SIM_DEFAULTS.cacheBlocks, min: 0}),
    'parallel-prefill': Flags.boolean({summary: 'Prefill all requests at once instead of one at a time (TTFT then does not grow with concurrency).', default: false}),
    'fail-rate': rate('gets HTTP 500'),
    'drop-rate': rate('has its stream cut (socket closed) after a few tokens'),
    'garbage-rate': rate('gets one invalid-JSON SSE line, then the stream ends'),
    'slow-rate': rate('waits --slow-ms more before its first token'),
    'error-event-rate': rate('gets a data: {"error": ...} event mid-stream'),
    'slow-ms': floatFlag({summary: 'Extra delay before the first token of a slow request, in ms.', default: SIM_DEFAULTS.slowMs}),
    seed: Flags.integer({summary: 'Seed for fault injection (same seed + same request order = same faults).', default: SIM_DEFAULTS.seed, min: 0}),
    'usage-style': Flags.option({
      summary: 'openai: usage with cached_tokens when stream_options.include_usage; llamacpp: always usage + timings; none: never usage.',
      options: ['openai', 'llamacpp', 'none'] as const,
      default: SIM_DEFAULTS.usageStyle,
    })(),
    'reject-stream-options': Flags.boolean({summary: 'Answer 400 to requests carrying stream_options, like servers that forbid extra fields.', default: false}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServeSim)
    const options: SimOptions = {
      host: flags.host,
      port: flags.port,
      model: flags.model,
      itlMs: flags['itl-ms'],
      baseTtftMs: flags['base-ttft-ms'],
      prefillMsPerToken: flags['prefill-ms-per-token'],
      defaultOutputTokens: flags['output-tokens'],
      blockSize: flags['block-size'],
      cacheBlocks: flags['cache-blocks'],
      serialPrefill: !flags['parallel-prefill'],
      failRate: flags['fail-rate'],
      dropRate: flags['drop-rate'],
      garbageRate: flags['garbage-rate'],
      slowRate: flags['slow-rate'],
      errorEventRate: flags['error-event-rate'],
      slowMs: flags['slow-ms'],
      seed: flags.seed,
      usageStyle: flags['usage-style'] as UsageStyle,
      rejectStreamOptions: flags['reject-stream-options'],
    }
    let sim
    try {
      sim = await startSimulator(options)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE') this.error(`Port ${flags.port} on ${flags.host} is already in use.`, {exit: 2, suggestions: ['Pick another one with --port, or --port 0 for a free port.']})
      throw error
    }

    this.log(`dual-bench simulator listening on ${sim.url} (model "${flags.model}")`)
    this.log(`  chat endpoint:        ${sim.url}/v1/chat/completions`)
    this.log(`  completions endpoint: ${sim.url}/v1/completions`)
    this.log(`  Prometheus metrics:   ${sim.url}/metrics`)
    this.log(`Try: ${this.config.bin} run --endpoint ${sim.url}/v1/chat/completions --prometheus-url ${sim.url}/metrics --prometheus-preset vllm --dataset <file.jsonl>`)
    this.log('Press Ctrl+C to stop.')

    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        this.log(`\n${signal} received, closing the simulator.`)
        resolve()
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    const s = sim.stats()
    await sim.close()
    this.log(`Served ${s.requests} completion requests (${s.completions} completed, max ${s.maxInFlight} in flight).`)
  }
}
