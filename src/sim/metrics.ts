import {Counter, Gauge, Histogram, Registry} from 'prom-client'

/** Live values the gauges read at scrape time. */
export interface GaugeSource {
  running(): number
  waiting(): number
  /** Cache fill 0..1. */
  kvUsage(): number
  /** Simulated KV bytes held. */
  memoryBytes(): number
  /** Hit share of the most recently completed request (0..1). */
  lastHitRate(): number
}

/** vLLM's TTFT buckets (vllm/v1/metrics/loggers.py), so histograms line up with a real server's. */
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560]

/**
 * The simulator's Prometheus series, named like vLLM's (plus LMCache's and the seed's `lmcache_hit_rate`), on a
 * private Registry so several simulators in one process (tests) never share or clash.
 */
export class SimMetrics {
  readonly registry = new Registry()
  private readonly queries
  private readonly hits
  private readonly lmHits
  private readonly lmRequested
  private readonly promptTokens
  private readonly generationTokens
  private readonly success
  private readonly ttft
  private readonly labels: {model_name: string}

  constructor(model: string, source: GaugeSource) {
    const registers = [this.registry]
    const labelNames = ['model_name'] as const
    this.labels = {model_name: model}
    const labels = this.labels
    this.queries = new Counter({name: 'vllm:prefix_cache_queries_total', help: 'Prefix cache queries, in tokens.', labelNames, registers})
    this.hits = new Counter({name: 'vllm:prefix_cache_hits_total', help: 'Prefix cache hits, in tokens.', labelNames, registers})
    this.lmRequested = new Counter({name: 'lmcache:num_requested_tokens_total', help: 'Tokens looked up in the cache (LMCache style).', labelNames, registers})
    this.lmHits = new Counter({name: 'lmcache:num_hit_tokens_total', help: 'Tokens found in the cache (LMCache style).', labelNames, registers})
    this.promptTokens = new Counter({name: 'vllm:prompt_tokens_total', help: 'Number of prefill tokens processed.', labelNames, registers})
    this.generationTokens = new Counter({name: 'vllm:generation_tokens_total', help: 'Number of generation tokens processed.', labelNames, registers})
    this.success = new Counter({name: 'vllm:request_success_total', help: 'Count of successfully processed requests.', labelNames: ['model_name', 'finished_reason'], registers})
    this.ttft = new Histogram({name: 'vllm:time_to_first_token_seconds', help: 'Histogram of time to first token in seconds.', labelNames, buckets: TTFT_BUCKETS, registers})
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({name, help, labelNames, registers, collect() {
        this.set(labels, read())
      }})
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', source.running)
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', source.waiting)
    gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', source.kvUsage)
    gauge('lmcache_hit_rate', 'Prefix cache hit rate of the most recently completed request (0..1).', source.lastHitRate)
    gauge('memory_usage_bytes', 'Simulated KV-cache memory in use, in bytes.', source.memoryBytes)
    // Counters start at 0 with their label set present, as vLLM's do, so the first scrape already has them.
    for (const c of [this.queries, this.hits, this.lmRequested, this.lmHits, this.promptTokens, this.generationTokens]) c.inc(labels, 0)
  }

  /** A prefill was scheduled: `promptTokens` looked up, `cachedTokens` found. */
  onPrefill(promptTokens: number, cachedTokens: number): void {
    this.queries.inc(this.labels, promptTokens)
    this.hits.inc(this.labels, cachedTokens)
    this.lmRequested.inc(this.labels, promptTokens)
    this.lmHits.inc(this.labels, cachedTokens)
    this.promptTokens.inc(this.labels, promptTokens)
  }

  onFirstToken(ttftSeconds: number): void {
    this.ttft.observe(this.labels, ttftSeconds)
  }

  /** Generated tokens are counted when a request ends (also when it is cut), not per token: cheaper at scale. */
  onEnded(generatedTokens: number, finishedReason?: string): void {
    if (generatedTokens > 0) this.generationTokens.inc(this.labels, generatedTokens)
    if (finishedReason) this.success.inc({...this.labels, finished_reason: finishedReason})
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
