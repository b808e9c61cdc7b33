/**
 * Pure (given a tokenizer): token-aware truncation for `--max-input-length`.
 *
 * Like LongBench's pred.py (`tokenized_prompt[:half] + tokenized_prompt[-half:]`), the middle of the
 * text is dropped and its head and tail kept, because instructions and the question usually sit at
 * the two ends.
 *
 * The exactness guarantee, precisely: the cut text is decoded from token ids, and re-encoding decoded
 * text does not always give the same ids back (tokens can merge across the seam, and a cut inside a
 * multi-byte character decodes to U+FFFD). So cuts are searched, nearest the middle first, skipping any
 * that split a character, until one whose joined text *re-encodes* to exactly `budget` tokens is found.
 * If none of the candidates within a few tokens of the middle hits it exactly (not seen in the tests:
 * English, Chinese, emoji, every budget 1..300), the closest count *below* the budget is used. So the
 * result never exceeds the budget and in practice equals it; `inputLength.truncated` always holds the
 * re-measured count, never an estimate.
 */
import {inputError} from '../errors.js'
import type {Sample} from './sample.js'
import type {Tokenizer} from './tokenizer.js'

/** Result of cutting one text. */
export interface CutResult {
  text: string
  /** Tokens of the returned text when re-encoded on its own. */
  tokens: number
}

const REPLACEMENT = '\uFFFD'
/** Tokens decoded around a seam to detect a split character (a character is at most 4 bytes). */
const SEAM_WINDOW = 8
/** How far (in tokens) the head may move from the exact middle when searching a cut. */
const SPAN = 8
/** Cut candidates tried per text; each costs one encode of `budget` tokens. */
const MAX_TRIES = 40

/** Decodes the first `head` and last `tail` token ids and joins them. */
function joinCut(ids: number[], head: number, tail: number, tok: Tokenizer): string {
  const headText = head > 0 ? tok.decode(ids.slice(0, head)) : ''
  const tailText = tail > 0 ? tok.decode(ids.slice(ids.length - tail)) : ''
  return headText + tailText
}

/**
 * Searches a cut — `head` first tokens + `tail` last tokens — whose joined text re-encodes to exactly
 * `budget` tokens. Cuts inside a character (decoding to U+FFFD) are skipped; `allowReplacement` turns
 * that check off when the source text itself contains U+FFFD. Candidates are tried nearest first:
 * head+tail = budget with the head moved up to SPAN tokens either way, then head+tail = budget±1, ±2
 * (the seam can merge or split a token). `headShare` 0.5 cuts the middle, 1 keeps the prefix only.
 */
function searchCut(ids: number[], budget: number, tok: Tokenizer, allowReplacement: boolean, headShare: number): CutResult {
  const total = ids.length
  const validHead = (h: number) => allowReplacement || h === 0 || !tok.decode(ids.slice(Math.max(0, h - SEAM_WINDOW), h)).endsWith(REPLACEMENT)
  const validTail = (t: number) => allowReplacement || t === 0 || !tok.decode(ids.slice(total - t, total - t + SEAM_WINDOW)).startsWith(REPLACEMENT)
  let best: CutResult | undefined
  let tries = 0
  search: for (const sum of [budget, budget + 1, budget - 1, budget + 2, budget - 2]) {
    if (sum < 1 || sum >= total) continue
    const h0 = Math.ceil(sum * headShare)
    const offsets = headShare === 1 ? [0] : [0, ...Array.from({length: SPAN}, (_, k) => [-(k + 1), k + 1]).flat()]
    for (const off of offsets) {
      const head = h0 + off
      const tail = sum - head
      if (head < 0 || tail < 0 || !validHead(head) || !validTail(tail)) continue
      const text = joinCut(ids, head, tail, tok)
      const n = tok.encode(text).length
      if (n <= budget && (!best || n > best.tokens)) best = {text, tokens: n}
      if (n === budget) return best!
      if (++tries >= MAX_TRIES) break search
    }
  }
  // No candidate hit the budget exactly: walk the prefix back until it is within the budget.
  for (let sum = budget - 3; !best && sum >= 0; sum--) {
    let head = Math.ceil(sum * headShare)
    while (head > 0 && !validHead(head)) head--
    let tail = sum - head
    while (tail > 0 && !validTail(tail)) tail--
    const text = joinCut(ids, head, tail, tok)
    const n = tok.encode(text).length
    if (n <= budget) best = {text, tokens: n}
  }
  return best ?? {text: '', tokens: 0}
}

/**
 * Cuts `text` to at most `budget` tokens by keeping its head and tail (LongBench style).
 * Returns the text unchanged when it already fits.
 */
export function truncateMiddle(text: string, budget: number, tok: Tokenizer): CutResult {
  const ids = tok.encode(text)
  if (ids.length <= budget) return {text, tokens: ids.length}
  if (budget <= 0) return {text: '', tokens: 0}
  return searchCut(ids, budget, tok, text.includes(REPLACEMENT), 0.5)
}

/** Keeps the first `budget` tokens of `text` (used by synth to make exact-length filler). */
export function truncateHead(text: string, budget: number, tok: Tokenizer): CutResult {
  const ids = tok.encode(text)
  if (ids.length <= budget) return {text, tokens: ids.length}
  if (budget <= 0) return {text: '', tokens: 0}
  return searchCut(ids, budget, tok, text.includes(REPLACEMENT), 1)
}

/**
 * Applies `--max-input-length` to every sample. The input length of a sample is the sum of its messages'
 * content tokens (chat-template tokens added by the server are not counted: they depend on the model).
 * When over the limit, only the longest user message (the last one on a tie) is cut in the middle, to
 * `maxInputTokens - (tokens of every other message)`. Every returned sample gets
 * `inputLength = {original, truncated, unit: 'tokens'}`; samples are copied, never mutated.
 */
export function truncateSamples(samples: Sample[], maxInputTokens: number, tokenizer: Tokenizer): Sample[] {
  if (!Number.isInteger(maxInputTokens) || maxInputTokens < 1) {
    throw inputError(`--max-input-length must be a positive integer, got ${maxInputTokens}`)
  }
  return samples.map((sample) => {
    const counts = sample.messages.map((m) => tokenizer.encode(m.content).length)
    const original = counts.reduce((a, b) => a + b, 0)
    if (original <= maxInputTokens) {
      return {...sample, inputLength: {original, truncated: original, unit: 'tokens'}}
    }
    let target = -1
    sample.messages.forEach((m, i) => {
      if (m.role === 'user' && (target < 0 || counts[i]! >= counts[target]!)) target = i
    })
    if (target < 0) throw inputError(`sample ${JSON.stringify(sample.id)}: has no user message to truncate`)
    const others = original - counts[target]!
    const budget = maxInputTokens - others
    if (budget < 1) {
      throw inputError(
        `sample ${JSON.stringify(sample.id)}: its non-user messages alone take ${others} tokens, more than --max-input-length ${maxInputTokens} — raise --max-input-length or shorten the system prompt`,
      )
    }
    const cut = truncateMiddle(sample.messages[target]!.content, budget, tokenizer)
    const messages = sample.messages.map((m, i) => (i === target ? {...m, content: cut.text} : m))
    return {...sample, messages, inputLength: {original, truncated: others + cut.tokens, unit: 'tokens'}}
  })
}
