/**
 * Pure (given a tokenizer): synthetic shared-prefix samples for `dual-bench synth`.
 *
 * Each sample is [system prompt] + [user: document + "\n\n" + question]. One system prompt is shared by
 * every sample and each document by its `questionsPerDoc` questions, so a prefix cache can reuse the
 * system prompt across all requests and a document across its questions — already in round 1.
 * Samples are emitted doc by doc (all questions of doc 1, then doc 2, …) so requests that share a
 * document run next to each other: with low concurrency the shared prefix is still cached when the
 * next question arrives.
 *
 * Lengths are exact in the default tokenizer: the system prompt, each document and each question are
 * cut (head kept) to exactly the requested token counts when re-encoded on their own; the joined user
 * message can differ by a token or two at the "\n\n" seam, so its measured count is recorded too.
 */
import {inputError} from '../errors.js'
import {createRng, randomInt, type Rng} from '../prng.js'
import type {ChatMessage} from './sample.js'
import type {Tokenizer} from './tokenizer.js'
import {truncateHead} from './truncate.js'

/** Options of `synthesize`. */
export interface SynthOptions {
  docs: number
  questionsPerDoc: number
  docTokens: number
  questionTokens: number
  /** 0 → no system message. */
  systemPromptTokens: number
  seed: number
  /** Optional per-sample `max_tokens`. */
  maxTokens?: number
}

/** One synthetic sample as written to JSONL (readable by `loadDataset`). */
export interface SynthLine {
  id: string
  messages: ChatMessage[]
  max_tokens?: number
  /** Where the sample sits and its measured token counts (ignored by the loader). */
  synth: {doc: number; question: number; tokens: {system: number; document: number; question: number; input: number}}
}

/** Smallest question length: "Q12" plus a word, so questions of one document always differ. */
export const MIN_QUESTION_TOKENS = 4

// Common English words: filler that tokenizes like ordinary prose (about one token per word).
const WORDS = (
  'the of and to in is was for on that with as by at from his her they this which be are have had not ' +
  'river market winter garden station letter window morning village engine ledger harbor bridge council ' +
  'report summer forest mountain signal pattern record journey memory kitchen orchard lantern canal meadow ' +
  'carried built opened noticed followed measured described returned gathered painted wrote repaired ' +
  'quiet early narrow bright heavy careful ancient distant modern simple gentle steady sudden famous ' +
  'every several many few most other second small large long short old new local public private ' +
  'water stone paper glass silver copper timber cotton wool grain salt coffee tea bread honey ' +
  'teacher farmer doctor sailor clerk miller baker weaver merchant captain engineer student ' +
  'because although while after before during until since when where often rarely always later'
).split(' ')

function sentence(rng: Rng): string {
  const n = 6 + randomInt(rng, 13)
  const words: string[] = []
  for (let i = 0; i < n; i++) words.push(WORDS[randomInt(rng, WORDS.length)]!)
  const first = words[0]!
  words[0] = first[0]!.toUpperCase() + first.slice(1)
  return words.join(' ') + '.'
}

/** `lead` followed by random sentences, cut to exactly `tokens` tokens (when reachable). */
function filler(rng: Rng, lead: string, tokens: number, tok: Tokenizer): {text: string; tokens: number} {
  if (tokens <= 0) return {text: '', tokens: 0}
  const parts: string[] = [lead]
  // ~1.1 tokens per word and ~12 words per sentence: generate a bit more than needed, then cut.
  let estimate = Math.ceil(tokens / 10) + 2
  let text = lead
  for (;;) {
    for (let i = 0; i < estimate; i++) parts.push((i % 6 === 5 ? '\n\n' : ' ') + sentence(rng))
    text = parts.join('')
    if (tok.encode(text).length > tokens) break
    estimate = Math.ceil(estimate / 2) + 2
  }
  return truncateHead(text, tokens, tok)
}

function check(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw inputError(`--${name} must be an integer ≥ ${min}, got ${v}`)
}

/** Generates the samples, lazily and reproducibly (same options + tokenizer → same lines). */
export function* synthesize(opts: SynthOptions, tok: Tokenizer): Generator<SynthLine> {
  check('docs', opts.docs, 1)
  check('questions-per-doc', opts.questionsPerDoc, 1)
  check('doc-tokens', opts.docTokens, 1)
  check('question-tokens', opts.questionTokens, MIN_QUESTION_TOKENS)
  check('system-prompt-tokens', opts.systemPromptTokens, 0)
  check('seed', opts.seed, 0)
  if (opts.maxTokens !== undefined) check('max-tokens', opts.maxTokens, 1)
  const rng = createRng(opts.seed)
  const system = filler(rng, 'You are a careful assistant. Answer using only the document the user provides.', opts.systemPromptTokens, tok)
  for (let d = 1; d <= opts.docs; d++) {
    const doc = filler(rng, `Document ${d}.`, opts.docTokens, tok)
    for (let q = 1; q <= opts.questionsPerDoc; q++) {
      const question = filler(rng, `Q${q}: Which`, opts.questionTokens, tok)
      const user = `${doc.text}\n\n${question.text}`
      const messages: ChatMessage[] = system.text ? [{role: 'system', content: system.text}] : []
      messages.push({role: 'user', content: user})
      const line: SynthLine = {
        id: `doc${d}-q${q}`,
        messages,
        synth: {
          doc: d,
          question: q,
          tokens: {system: system.tokens, document: doc.tokens, question: question.tokens, input: system.tokens + tok.encode(user).length},
        },
      }
      if (opts.maxTokens !== undefined) line.max_tokens = opts.maxTokens
      yield line
    }
  }
}
