/**
 * The simulator's tokenizer: words, and each punctuation mark on its own. Deliberately cheap and
 * deterministic rather than a real BPE: the cache model only needs "same text → same tokens", and a
 * real vocabulary (js-tiktoken) would cost far more per request at thousands of concurrent streams.
 */
const TOKEN_RE = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu

/** Splits text into tokens. Pure. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN_RE) ?? []
}

/** A chat message as the simulator reads it (content already flattened to text). */
export interface SimMessage {
  role: string
  content: string
}

/**
 * Renders chat messages to one prompt the way a chat template does (ChatML-like role markers, then the
 * assistant header for the generation prompt), so that requests sharing leading messages share a token prefix.
 */
export function renderChatPrompt(messages: readonly SimMessage[]): string {
  let out = ''
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`
  return out + '<|im_start|>assistant\n'
}
