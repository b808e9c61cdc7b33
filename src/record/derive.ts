import type {RequestRecord} from './record.js'

/**
 * Pure per-request metrics. Each returns `undefined` when the quantity does not exist for this record
 * (never 0 as a stand-in), so distributions only contain real observations.
 */

/** Send → first content chunk. */
export function ttftMs(r: RequestRecord): number | undefined {
  if (!r.ok || r.firstTokenAtMs === undefined) return undefined
  return r.firstTokenAtMs - r.sentAtMs
}

/** Send → end of stream. */
export function latencyMs(r: RequestRecord): number | undefined {
  if (!r.ok) return undefined
  return r.endedAtMs - r.sentAtMs
}

/**
 * (latency − TTFT) / (streamed tokens − 1): vLLM calls this TPOT, AIPerf calls it ITL; the seed calls it ITL.
 * Undefined with fewer than two streamed tokens.
 *
 * Streamed tokens are the output tokens, except for hidden reasoning: OpenAI's o-series / gpt-5 count their reasoning in
 * completion_tokens but never stream it, so it is all generated before the first visible token, inside TTFT. Dividing
 * the time after TTFT by every output token would then make ITL several times too low. So when the record says
 * reasoning tokens were reported and no reasoning text was streamed, ITL is over the visible tokens only
 * (outputTokens − reasoningTokens). When the reasoning was streamed (vLLM `reasoning_content`) it arrives after TTFT
 * and all output tokens count. Output token counts and throughput keep every output token: they were generated.
 */
export function itlMs(r: RequestRecord): number | undefined {
  const ttft = ttftMs(r)
  const latency = latencyMs(r)
  const tokens = streamedTokens(r)
  if (ttft === undefined || latency === undefined || tokens === undefined || tokens < 2) return undefined
  return (latency - ttft) / (tokens - 1)
}

/** The output tokens streamed from the first token on: all of them but hidden reasoning (see itlMs). */
function streamedTokens(r: RequestRecord): number | undefined {
  const out = r.outputTokens
  if (out === undefined || r.reasoningTokens === undefined || r.reasoningStreamed !== false) return out
  return out - r.reasoningTokens
}

/** Gaps between consecutive content chunks (vLLM's "ITL"), reported pooled as "Chunk gap (ms)". */
export function chunkGapsMs(r: RequestRecord): number[] {
  const offsets = r.chunkOffsetsMs
  if (!r.ok || !offsets || offsets.length < 2) return []
  const gaps = new Array<number>(offsets.length - 1)
  for (let i = 1; i < offsets.length; i++) gaps[i - 1] = offsets[i] - offsets[i - 1]
  return gaps
}

/** Output tokens per second of this request's decode phase, as seed 000's "output speed": tokens / latency. */
export function outputSpeedTps(r: RequestRecord): number | undefined {
  const latency = latencyMs(r)
  if (latency === undefined || latency <= 0 || r.outputTokens === undefined) return undefined
  return r.outputTokens / (latency / 1000)
}
