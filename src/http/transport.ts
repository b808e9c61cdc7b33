import type {RequestRecord} from '../record/record.js'

/** Which OpenAI-compatible API the endpoint speaks. */
/** Which OpenAI-compatible API the endpoint speaks (responses = OpenAI Responses API streaming events). */
export type ApiKind = 'chat' | 'completions' | 'responses'

/** A request ready to send: the body is prebuilt bytes so round 2 is byte-identical to round 1. */
export interface PlannedRequest {
  level: number
  round: number
  index: number
  sampleId: string
  promptPreview: string
  body: Buffer
  inputLength?: RequestRecord['inputLength']
}

export interface TransportOptions {
  /** Full URL of the completions endpoint. */
  endpoint: URL
  apiKey?: string
  /** Extra headers (never logged). */
  headers?: Record<string, string>
  /** Whole-request timeout. */
  timeoutMs: number
  /** Time allowed from send to the first content chunk; defaults to timeoutMs. */
  firstTokenTimeoutMs?: number
  /** Skip TLS certificate verification. */
  insecure?: boolean
  /** Keep-alive sockets to keep open (the concurrency level). */
  maxSockets: number
  api: ApiKind
  stream: boolean
}

/**
 * Sends one planned request and measures it. Never throws for a per-request failure: the failure is
 * in the returned record (`ok: false`, `error`).
 */
export interface Transport {
  send(request: PlannedRequest, opts: {queuedAtMs: number; signal?: AbortSignal}): Promise<RequestRecord>
  close(): Promise<void>
}
