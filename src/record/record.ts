/**
 * The request record: the project's shared language. `http/` fills it, `slo/` scores it,
 * `runner/` collects it, `output/` writes it. Raw timestamps only; metrics are derived by `derive.ts`.
 */

/** Why a request failed. Categories are stable strings: they appear in outputs and are counted per round. */
export type FailureCategory =
  | 'http_4xx'
  | 'http_5xx'
  | 'connection' // refused, reset, DNS, TLS
  | 'timeout' // whole-request --timeout
  | 'first_token_timeout'
  | 'stream_cut' // body ended before [DONE] / finish
  | 'malformed_sse' // a data line that is not JSON
  | 'server_error_event' // an {"error": …} object inside the stream
  | 'cancelled' // aborted by the user (second Ctrl-C)
  | 'other'

export interface RequestError {
  category: FailureCategory
  /** Trimmed, never contains the API key. */
  message: string
  httpStatus?: number
  /** A redirect's target (absolute `Location`), which the client does not follow. */
  location?: string
  /** The server's `Retry-After` (429, 503), in ms: how long --retries waits before trying again. */
  retryAfterMs?: number
}

export type TokenSource = 'usage' | 'chunks'

/** Where the cached-token count came from, so a reader can tell OpenAI/vLLM, llama.cpp and SGLang apart. */
export type CachedTokenSource =
  | 'usage.prompt_tokens_details.cached_tokens'
  | 'timings.cache_n'
  | 'usage.prompt_tokens-timings.prompt_n'
  | 'meta_info.cached_tokens'
  | 'usage.input_tokens_details.cached_tokens' // OpenAI Responses API (response.completed)

/**
 * One measured request. All `*AtMs` are epoch milliseconds with sub-ms precision taken from the
 * monotonic clock (`performance.timeOrigin + performance.now()`), so they are comparable across worker threads.
 */
export interface RequestRecord {
  /** Concurrency level this request ran at. */
  level: number
  /** 1 = cold, 2 = warm. */
  round: number
  /** Position of the sample within the round (same in both rounds). */
  index: number
  sampleId: string
  /** First characters of the prompt as sent (salt excluded), for humans. */
  promptPreview: string

  /** When a concurrency slot was requested; `sentAtMs - queuedAtMs` is client queue time, not latency. */
  queuedAtMs: number
  /** Just before the request bytes were written. */
  sentAtMs: number
  /** Response headers received. */
  headersAtMs?: number
  /** First chunk with non-empty content or reasoning content. */
  firstTokenAtMs?: number
  /** Last chunk with non-empty content. */
  lastTokenAtMs?: number
  /** End of stream ([DONE] or body end) or failure. */
  endedAtMs: number
  /** Arrival times of every content-bearing chunk, ms relative to sentAtMs (for the pooled chunk-gap distribution). */
  chunkOffsetsMs?: number[]
  /**
   * The request went out on an already-open keep-alive connection (from preconnect or an earlier request):
   * no connect inside its TTFT. False: a connection was opened for it, and `connectMs` says how long that took.
   */
  reusedConnection?: boolean
  /** TCP connect (plus TLS handshake for https) of the connection opened for this request, ms; inside its TTFT. */
  connectMs?: number

  outputTokens?: number
  outputTokensSource?: TokenSource
  /**
   * Reasoning tokens the server reported (usage.completion_tokens_details.reasoning_tokens, Responses:
   * usage.output_tokens_details.reasoning_tokens). Already counted in `outputTokens`.
   */
  reasoningTokens?: number
  /**
   * Set with `reasoningTokens`: whether reasoning text arrived in the stream (vLLM `reasoning_content`) or was
   * generated but never streamed (OpenAI o-series / gpt-5). Decides ITL's token count, see derive.ts (itlMs).
   */
  reasoningStreamed?: boolean
  inputTokens?: number
  cachedTokens?: number
  cachedTokensSource?: CachedTokenSource
  /** Number of content-bearing chunks seen. */
  contentChunks?: number
  finishReason?: string
  /** First characters of the generated text (for --show-samples and debugging). */
  outputPreview?: string

  ok: boolean
  error?: RequestError

  /** Input length before/after truncation, in the unit the truncation used. */
  inputLength?: {original: number; truncated: number; unit: 'chars' | 'tokens'}

  /** Which invocation of the run measured this record: 1, then +1 per --resume (durations never span a pause). */
  session?: number
  /** Extra attempts made under --retries before this outcome (0 or absent: first try). */
  retries?: number

  /** Per-request Prometheus values by metric/ratio name (filled by the runner when --prometheus-url is set). */
  prometheus?: Record<string, number | null>
  /** Which shared scrapes this request used (ids from the scrape scheduler). */
  scrapes?: {before?: number; after?: number}
}
