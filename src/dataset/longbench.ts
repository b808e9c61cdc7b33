/**
 * Pure LongBench record → benchmark line conversion, using the official templates
 * (see longbench-templates.ts). No I/O here; longbench-read.ts finds and reads the files.
 */
import type {ChatMessage} from './sample.js'
import {
  DATASET2MAXLEN,
  DATASET2PROMPT,
  LONGBENCH_V1_DATASETS,
  LONGBENCH_V2_MAX_TOKENS,
  LONGBENCH_V2_NAME,
  LONGBENCH_V2_TEMPLATE,
  type LongBenchV1Dataset,
} from './longbench-templates.js'

/** One line of `convert-longbench` output; `loadDataset` reads it back as a chat-messages sample. */
export interface LongBenchLine {
  id: string
  dataset: string
  messages: ChatMessage[]
  max_tokens: number
  answers: unknown[]
  /** LongBench's own length field: words/characters (v1) or "short" | "medium" | "long" (v2). */
  length: number | string | null
}

/** Which LongBench release a record comes from, judged by its fields. */
export type LongBenchKind = 'v1' | 'v2'

type Rec = Record<string, unknown>

/**
 * Resolves a v1 dataset name; LongBench-E names (`qasper_e`) map to their base template, as pred.py
 * does for `--e`. Returns undefined for an unknown name.
 */
export function resolveV1Dataset(name: string): LongBenchV1Dataset | undefined {
  const base = name.endsWith('_e') ? name.slice(0, -2) : name
  return (LONGBENCH_V1_DATASETS as readonly string[]).includes(base) ? (base as LongBenchV1Dataset) : undefined
}

/** "unknown LongBench dataset …" with the list of valid names. */
export function unknownDatasetMessage(name: string): string {
  return `unknown LongBench dataset "${name}" — valid names: ${LONGBENCH_V1_DATASETS.join(', ')} (or "all")`
}

/** v2 records carry a question and four choices; v1 records carry `context` + `input`. */
export function detectLongBenchKind(rec: Rec): LongBenchKind | undefined {
  if (typeof rec.question === 'string' && 'choice_A' in rec && typeof rec.context === 'string') return 'v2'
  if (typeof rec.context === 'string' && 'input' in rec) return 'v1'
  return undefined
}

/**
 * Fills a v1 template like Python's `template.format(context=…, input=…)`: each placeholder is replaced
 * once, in one pass, so text inside the context that looks like `{input}` is left alone.
 */
export function fillV1Template(template: string, context: string, input: string): string {
  return template.replace(/\{(context|input)\}/g, (_m, key: string) => (key === 'context' ? context : input))
}

/**
 * Fills the v2 0-shot template like pred.py (`.strip()` on every value). pred.py chains `.replace()` calls,
 * which would also rewrite a literal `$Q$` inside the document; this does one pass, so the document is
 * inserted untouched. The two agree on every real record.
 */
export function fillV2Template(rec: {context: string; question: string; choice_A: string; choice_B: string; choice_C: string; choice_D: string}): string {
  const values: Record<string, string> = {
    DOC: rec.context.trim(),
    Q: rec.question.trim(),
    C_A: rec.choice_A.trim(),
    C_B: rec.choice_B.trim(),
    C_C: rec.choice_C.trim(),
    C_D: rec.choice_D.trim(),
  }
  return LONGBENCH_V2_TEMPLATE.replace(/\$(DOC|Q|C_A|C_B|C_C|C_D)\$/g, (_m, key: string) => values[key]!)
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function idOf(rec: Rec, fallbackId: string): string {
  const id = rec._id ?? rec.id
  return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : fallbackId
}

/** Answers may arrive as a JSON array, a parquet list, or (hand-made files) a single string. */
function answersOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v
  if (v === undefined || v === null) return []
  return [v]
}

function lengthOf(v: unknown): number | string | null {
  if (typeof v === 'number' || typeof v === 'string') return v
  if (typeof v === 'bigint') return Number(v)
  return null
}

/** Converts one v1 record; returns an error string (no file/line: the caller adds them). */
export function v1RecordToLine(rec: Rec, dataset: LongBenchV1Dataset, fallbackId: string): LongBenchLine | string {
  const context = str(rec.context)
  const input = rec.input === null || rec.input === undefined ? '' : str(rec.input)
  if (context === undefined) return 'LongBench v1 record has no string "context"'
  if (input === undefined) return 'LongBench v1 record has a non-string "input"'
  return {
    id: idOf(rec, fallbackId),
    dataset: str(rec.dataset) ?? dataset,
    messages: [{role: 'user', content: fillV1Template(DATASET2PROMPT[dataset], context, input)}],
    max_tokens: DATASET2MAXLEN[dataset],
    answers: answersOf(rec.answers),
    length: lengthOf(rec.length),
  }
}

/** Converts one v2 record (data.json / parquet row). */
export function v2RecordToLine(rec: Rec, fallbackId: string): LongBenchLine | string {
  const fields = ['context', 'question', 'choice_A', 'choice_B', 'choice_C', 'choice_D'] as const
  for (const f of fields) if (typeof rec[f] !== 'string') return `LongBench v2 record has no string "${f}"`
  const r = rec as Record<(typeof fields)[number], string>
  return {
    id: idOf(rec, fallbackId),
    dataset: LONGBENCH_V2_NAME,
    messages: [{role: 'user', content: fillV2Template(r)}],
    max_tokens: LONGBENCH_V2_MAX_TOKENS,
    answers: answersOf(rec.answer),
    length: lengthOf(rec.length),
  }
}
