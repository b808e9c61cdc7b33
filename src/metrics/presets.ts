/**
 * `--prometheus-preset`: the cache and load metrics of a known server, and its hit-rate ratio.
 *
 * Names are written as the libraries declare them; the selector resolver finds counters with or without
 * the `_total` suffix that Python's prometheus_client appends, and sums over label sets (model_name,
 * engine, worker_id, ...). Each preset says where its names were checked. Entries marked `optional`
 * exist only in some versions: prom-check lists them as absent without failing.
 *
 * The seed's `lmcache_hit_rate` is not a metric LMCache exposes (it exposes `lmcache:retrieve_hit_rate`,
 * a gauge over the last logging interval only, so it is never differenced); no preset relies on it,
 * but `--prometheus-metrics lmcache_hit_rate` still works for an exporter that provides it.
 */
import {inputError} from '../errors.js'

export const PRESET_NAMES = ['vllm', 'sglang', 'lmcache', 'llamacpp'] as const
export type PresetName = (typeof PRESET_NAMES)[number]

export interface PresetEntry {
  spec: string
  /** Absent on some versions of the server; missing is not an error. */
  optional?: boolean
}

export interface PrometheusPreset {
  name: PresetName
  description: string
  /** `--prometheus-metrics` entries. */
  metrics: PresetEntry[]
  /** `--prometheus-ratio` entries. */
  ratios: PresetEntry[]
}

const PRESETS: Record<PresetName, PrometheusPreset> = {
  // Verified in vllm-project/vllm vllm/v1/metrics/loggers.py, PrometheusStatLogger.__init__ (commit
  // 005a810bc40faa25b8870fbc8559c3462581eee3: prefix_cache_queries/hits are token counters that replaced
  // gpu_prefix_cache_* in 0.9; kv_cache_usage_perc replaced gpu_cache_usage_perc; labels model_name, engine).
  // external_prefix_cache_* (KV-connector caches such as LMCache) appear in a later loggers.py
  // ("External - KV connector prefix cache" section), so they are optional here.
  vllm: {
    name: 'vllm',
    description: 'vLLM V1: GPU prefix cache and KV-connector (external) cache token counters, KV usage, queue',
    metrics: [
      {spec: 'vllm:prefix_cache_queries'},
      {spec: 'vllm:prefix_cache_hits'},
      {spec: 'vllm:external_prefix_cache_queries', optional: true},
      {spec: 'vllm:external_prefix_cache_hits', optional: true},
      {spec: 'vllm:kv_cache_usage_perc'},
      {spec: 'vllm:num_requests_running'},
      {spec: 'vllm:num_requests_waiting'},
      {spec: 'vllm:prompt_tokens'},
      {spec: 'vllm:time_to_first_token_seconds'},
    ],
    ratios: [
      {spec: 'prefix_cache_hit_rate=vllm:prefix_cache_hits/vllm:prefix_cache_queries'},
      {spec: 'external_prefix_cache_hit_rate=vllm:external_prefix_cache_hits/vllm:external_prefix_cache_queries', optional: true},
    ],
  },
  // Verified in sgl-project/sglang python/sglang/srt/metrics/collector.py (commit
  // 00ae9c1590d2d0bb6c0bfff39e312c34ae3dd538): TokenizerMetricsCollector declares sglang:prompt_tokens_total
  // and sglang:cached_tokens_total (incremented only when cached_tokens > 0, so the series may be absent
  // until the first hit: read as 0); SchedulerMetricsCollector declares the gauges cache_hit_rate,
  // token_usage, num_running_reqs, num_queue_reqs.
  sglang: {
    name: 'sglang',
    description: 'SGLang: cached/prompt token counters, radix-cache hit-rate gauge, token usage, queue',
    metrics: [
      {spec: 'sglang:cached_tokens_total'},
      {spec: 'sglang:prompt_tokens_total'},
      {spec: 'sglang:cache_hit_rate'},
      {spec: 'sglang:token_usage'},
      {spec: 'sglang:num_running_reqs'},
      {spec: 'sglang:num_queue_reqs'},
      {spec: 'sglang:time_to_first_token_seconds'},
    ],
    ratios: [{spec: 'prefix_cache_hit_rate=sglang:cached_tokens_total/sglang:prompt_tokens_total'}],
  },
  // Verified in LMCache/LMCache lmcache/observability.py, PrometheusLogger.__init__ (commit
  // 0353be824aebefb9fd4fbdca022746adbf252d3b): counters num_requested_tokens / num_hit_tokens (retrieve),
  // num_lookup_tokens / num_lookup_hits (lookup), gauge local_cache_usage (bytes); labels model_name,
  // worker_id, role, served_model_name. retrieve_hit_rate is a "since last log" gauge: not used.
  lmcache: {
    name: 'lmcache',
    description: 'LMCache (in vLLM): retrieve and lookup token counters, local cache bytes',
    metrics: [
      {spec: 'lmcache:num_requested_tokens'},
      {spec: 'lmcache:num_hit_tokens'},
      {spec: 'lmcache:num_lookup_tokens', optional: true},
      {spec: 'lmcache:num_lookup_hits', optional: true},
      {spec: 'lmcache:num_stored_tokens'},
      {spec: 'lmcache:local_cache_usage'},
    ],
    ratios: [
      {spec: 'lmcache_retrieve_hit_rate=lmcache:num_hit_tokens/lmcache:num_requested_tokens'},
      {spec: 'lmcache_lookup_hit_rate=lmcache:num_lookup_hits/lmcache:num_lookup_tokens', optional: true},
    ],
  },
  // Verified in ggml-org/llama.cpp server.cpp, the /metrics handler (examples/server/server.cpp, later
  // tools/server/): unlabelled counters llamacpp:prompt_tokens_total, prompt_seconds_total,
  // tokens_predicted_total, tokens_predicted_seconds_total and gauges requests_processing,
  // requests_deferred (needs --metrics). There is no cache-hit counter, but prompt_tokens_total counts only
  // the prompt tokens actually evaluated, so a warm round shows fewer; n_busy_slots_per_decode is typed
  // counter but is an average, so it is left out.
  llamacpp: {
    name: 'llamacpp',
    description: 'llama.cpp server: evaluated prompt tokens and time, generation, slots busy/deferred',
    metrics: [
      {spec: 'llamacpp:prompt_tokens_total'},
      {spec: 'llamacpp:prompt_seconds_total'},
      {spec: 'llamacpp:tokens_predicted_total'},
      {spec: 'llamacpp:tokens_predicted_seconds_total'},
      {spec: 'llamacpp:requests_processing'},
      {spec: 'llamacpp:requests_deferred'},
    ],
    ratios: [{spec: 'prefill_tokens_per_s=llamacpp:prompt_tokens_total/llamacpp:prompt_seconds_total'}],
  },
}

/** The preset of that name; an input error (exit 2) listing the known ones otherwise. */
export function getPreset(name: string): PrometheusPreset {
  if ((PRESET_NAMES as readonly string[]).includes(name)) return PRESETS[name as PresetName]
  throw inputError(`--prometheus-preset "${name}" is not known.`, `Use one of: ${PRESET_NAMES.join(', ')}`)
}
