/**
 * Pure: one parsed dataset record (any supported shape) → a `Sample`, or a one-line reason why not.
 *
 * Shapes, checked in this order (the first one present wins):
 *   {"messages": [{role, content}]}           OpenAI chat (also convert-longbench output); trailing assistant
 *                                              turns are dropped, so the prompt ends at the last user turn (the
 *                                              fine-tuning layout puts the reference answer there)
 *   {"conversations": [{from, value}]}         ShareGPT: turns up to and including the first human turn; turns may
 *   {"conversation": [{role, content}]}        also be {role, content} (LMSYS-Chat, WildChat use `conversation`)
 *   {"prompt": "…"}                            one user message
 *   {"text": "…"}                              one user message (the seed's form)
 *   {"instruction", "input"?}                  Alpaca (or Dolly, whose `context` plays `input`'s part): the instruction,
 *                                              a blank line, then the input when there is one
 *   {"context", "input"} / LongBench v2 record LongBench template when `dataset` names one, else context + "\n\n" + input
 *   {"question", "context"?}                   QA sets (SQuAD, GSM8K, HotpotQA…): context + "\n\n" + question, or the question
 * Optional on every shape: `id` (or `_id`), `max_tokens`, `system` (prepended as a system message).
 * A message whose content is empty or only whitespace is rejected, as `"text": ""` is.
 */
import {DATASET2MAXLEN, DATASET2PROMPT} from './longbench-templates.js'
import {detectLongBenchKind, fillV1Template, resolveV1Dataset, v2RecordToLine} from './longbench.js'
import type {ChatMessage, Sample} from './sample.js'

/** Either a sample or why the record is not one. */
export type NormalizeResult = {ok: true; sample: Sample} | {ok: false; error: string}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'developer', 'tool'])

/** ShareGPT speaker names seen in the wild → chat roles. */
const SHAREGPT_ROLES: Readonly<Record<string, ChatMessage['role']>> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
  bard: 'assistant',
  bing: 'assistant',
  model: 'assistant',
  system: 'system',
}

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message)
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}

function nonEmptyString(v: unknown, field: string): string {
  if (typeof v !== 'string') fail(`"${field}" must be a string, got ${typeName(v)}`)
  if (v.trim() === '') fail(`"${field}" is empty`)
  return v
}

/** OpenAI content may be a string or an array of parts; only text parts are benchmarkable. */
function contentText(v: unknown, where: string): string {
  if (typeof v === 'string') return v
  if (Array.isArray(v)) {
    return v
      .map((part, i) => {
        const p = part as {type?: unknown; text?: unknown}
        if (p && typeof p === 'object' && p.type === 'text' && typeof p.text === 'string') return p.text
        fail(`${where}.content[${i}] is not a {"type":"text","text":…} part (only text content is supported)`)
      })
      .join('\n')
  }
  fail(`${where}.content must be a string, got ${typeName(v)}`)
}

function fromMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v)) fail(`"messages" must be an array, got ${typeName(v)}`)
  if (v.length === 0) fail('"messages" is empty')
  const messages = v.map((m, i): ChatMessage => {
    const where = `messages[${i}]`
    if (!m || typeof m !== 'object' || Array.isArray(m)) fail(`${where} must be an object with "role" and "content"`)
    const {role, content} = m as {role?: unknown; content?: unknown}
    if (typeof role !== 'string' || !ROLES.has(role)) {
      fail(`${where}.role ${JSON.stringify(role)} is not one of ${[...ROLES].join(', ')}`)
    }
    return {role: role as ChatMessage['role'], content: contentText(content, where)}
  })
  // Fine-tuning data ends with the reference answer; sent, it would be part of the prompt and the model would be
  // asked to continue after it. The benchmark request asks for that turn instead.
  let end = messages.length
  while (end > 0 && messages[end - 1]!.role === 'assistant') end--
  const kept = messages.slice(0, end)
  if (kept.length === 0) fail('"messages" has only assistant turns: no prompt to send')
  kept.forEach((m, i) => {
    if (m.content.trim() === '') fail(`messages[${i}].content is empty`)
  })
  return kept
}

/** ShareGPT-style turns (`field` is "conversations" or "conversation"), each {from, value} or {role, content}. */
function fromConversations(v: unknown, field: string): ChatMessage[] {
  if (!Array.isArray(v)) fail(`"${field}" must be an array, got ${typeName(v)}`)
  const out: ChatMessage[] = []
  for (const [i, turn] of v.entries()) {
    const where = `${field}[${i}]`
    if (!turn || typeof turn !== 'object') fail(`${where} must be an object with "from" and "value" (or "role" and "content")`)
    const t = turn as {from?: unknown; value?: unknown; role?: unknown; content?: unknown}
    const byRole = t.from === undefined && t.role !== undefined
    const speaker = byRole ? t.role : t.from
    const role = typeof speaker === 'string' ? SHAREGPT_ROLES[speaker.toLowerCase()] : undefined
    if (!role) fail(`${where}.${byRole ? 'role' : 'from'} ${JSON.stringify(speaker)} is not one of ${Object.keys(SHAREGPT_ROLES).join(', ')}`)
    const content = byRole ? contentText(t.content, where) : t.value
    if (typeof content !== 'string') fail(`${where}.value must be a string, got ${typeName(content)}`)
    if (content.trim() === '') fail(`${where}.${byRole ? 'content' : 'value'} is empty`)
    out.push({role, content})
    // Benchmark the first human turn; later turns are the reference answer and follow-ups.
    if (role === 'user') return out
  }
  fail(`"${field}" has no human turn`)
}

/**
 * Instruction-tuning records: Alpaca's `instruction` + `input`, or Dolly's `instruction` + `context`. The input goes
 * after the instruction, as Alpaca's own prompt template puts it; an empty input is no input.
 */
function fromInstruction(rec: Record<string, unknown>): ChatMessage[] {
  const instruction = nonEmptyString(rec.instruction, 'instruction')
  const field = rec.input !== undefined && rec.input !== null ? 'input' : 'context'
  const extra = rec[field] ?? ''
  if (typeof extra !== 'string') fail(`"${field}" must be a string, got ${typeName(extra)}`)
  return [{role: 'user', content: extra.trim() === '' ? instruction : `${instruction}\n\n${extra}`}]
}

/** Question-answering records: the question, after its context passage when there is one (SQuAD, HotpotQA). */
function fromQuestion(rec: Record<string, unknown>): ChatMessage[] {
  const question = nonEmptyString(rec.question, 'question')
  const context = rec.context ?? ''
  if (typeof context !== 'string') fail(`"context" must be a string, got ${typeName(context)}`)
  return [{role: 'user', content: context.trim() === '' ? question : `${context}\n\n${question}`}]
}

function fromLongBench(rec: Record<string, unknown>): {messages: ChatMessage[]; maxTokens?: number} {
  if (detectLongBenchKind(rec) === 'v2') {
    const line = v2RecordToLine(rec, '')
    if (typeof line === 'string') fail(line)
    return {messages: line.messages, maxTokens: line.max_tokens}
  }
  const context = rec.context as string
  const input = rec.input === null ? '' : rec.input
  if (typeof input !== 'string') fail(`"input" must be a string, got ${typeName(input)}`)
  const dataset = typeof rec.dataset === 'string' ? resolveV1Dataset(rec.dataset) : undefined
  if (dataset) {
    return {messages: [{role: 'user', content: fillV1Template(DATASET2PROMPT[dataset], context, input)}], maxTokens: DATASET2MAXLEN[dataset]}
  }
  return {messages: [{role: 'user', content: input === '' ? context : `${context}\n\n${input}`}]}
}

function maxTokensOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`"max_tokens" must be a positive integer, got ${JSON.stringify(v)}`)
  return v
}

function idOf(rec: Record<string, unknown>, fallbackId: string): string {
  const id = rec.id ?? rec._id
  if (id === undefined || id === null) return fallbackId
  if (typeof id === 'number' && Number.isFinite(id)) return String(id)
  if (typeof id === 'string' && id !== '') return id
  fail(`"id" must be a non-empty string or a number, got ${JSON.stringify(id)}`)
}

/**
 * Normalises one record. `fallbackId` is used when the record has no `id`/`_id`.
 * Never throws; the error text names the offending field but not the file or line.
 */
export function normalizeRecord(value: unknown, fallbackId: string): NormalizeResult {
  try {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      fail(`expected a JSON object, got ${typeName(value)}`)
    }
    const rec = value as Record<string, unknown>
    let messages: ChatMessage[]
    let maxTokens: number | undefined
    if ('messages' in rec) messages = fromMessages(rec.messages)
    else if ('conversations' in rec) messages = fromConversations(rec.conversations, 'conversations')
    else if ('conversation' in rec) messages = fromConversations(rec.conversation, 'conversation')
    else if ('prompt' in rec) messages = [{role: 'user', content: nonEmptyString(rec.prompt, 'prompt')}]
    else if ('text' in rec) messages = [{role: 'user', content: nonEmptyString(rec.text, 'text')}]
    else if ('instruction' in rec) messages = fromInstruction(rec)
    else if (detectLongBenchKind(rec)) ({messages, maxTokens} = fromLongBench(rec))
    else if ('question' in rec) messages = fromQuestion(rec)
    else {
      const keys = Object.keys(rec).slice(0, 8).join(', ') || 'none'
      fail(
        `no prompt field found (keys: ${keys}); expected "text", "prompt", "messages", "conversations", "instruction", "question", ` +
          `or "context" + "input"`,
      )
    }
    if (!messages.some((m) => m.role === 'user')) fail('has no user message to benchmark')
    if (rec.system !== undefined) {
      const system = nonEmptyString(rec.system, 'system')
      if (messages[0]?.role === 'system') fail('has both "system" and a leading system message; keep one')
      messages = [{role: 'system', content: system}, ...messages]
    }
    const explicitMax = maxTokensOf(rec.max_tokens)
    const sample: Sample = {id: idOf(rec, fallbackId), messages}
    const mt = explicitMax ?? maxTokens
    if (mt !== undefined) sample.maxTokens = mt
    return {ok: true, sample}
  } catch (err) {
    if (err instanceof Invalid) return {ok: false, error: err.message}
    throw err
  }
}
