/** An OpenAI chat message as sent. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'developer' | 'tool'
  content: string
}

/**
 * One benchmark sample, normalised from any supported dataset shape. Everything is expressed as chat
 * messages; the completions API joins them into a prompt (see `http/request-body.ts`).
 */
export interface Sample {
  id: string
  messages: ChatMessage[]
  /** Per-sample max output tokens from the dataset (overridden by --max-output-tokens). */
  maxTokens?: number
  /** Input length before/after truncation. */
  inputLength?: {original: number; truncated: number; unit: 'chars' | 'tokens'}
}
