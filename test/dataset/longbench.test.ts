import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {convertLongBench, loadDataset, loadTokenizer, parseDatasetList, writeJsonl, type LongBenchLine} from '../../src/dataset/index.js'
import {DATASET2PROMPT, LONGBENCH_V1_DATASETS, LONGBENCH_V2_TEMPLATE} from '../../src/dataset/longbench-templates.js'
import {DualBenchError} from '../../src/errors.js'

const FIX = fileURLToPath(new URL('../fixtures/longbench/', import.meta.url))
const V1_DIR = join(FIX, 'v1', 'data')
const NQ = join(V1_DIR, 'narrativeqa.jsonl')
const V2 = join(FIX, 'v2', 'data.json')

async function collect(it: AsyncIterable<LongBenchLine>): Promise<LongBenchLine[]> {
  const out: LongBenchLine[] = []
  for await (const l of it) out.push(l)
  return out
}

async function fixtureRecords(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8')
  return path.endsWith('.json') ? JSON.parse(text) : text.trim().split('\n').map((l) => JSON.parse(l))
}

describe('templates', () => {
  test('narrativeqa uses the current template ("as concisely"), not the old typo', () => {
    expect(DATASET2PROMPT.narrativeqa).toContain('Answer the question as concisely as you can')
    expect(DATASET2PROMPT.narrativeqa).not.toContain('asconcisely')
    expect(LONGBENCH_V1_DATASETS).toHaveLength(21)
  })
})

describe('v1', () => {
  test('narrativeqa JSONL: prompt is exactly the template filled in, with official max_tokens', async () => {
    const lines = await collect(convertLongBench({input: NQ}))
    const raw = await fixtureRecords(NQ)
    expect(lines).toHaveLength(3)
    const expected =
      'You are given a story, which can be either a novel or a movie script, and a question. Answer the question as concisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nStory: ' +
      raw[0]!.context +
      '\n\nNow, answer the question based on the story as concisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nQuestion: ' +
      raw[0]!.input +
      '\n\nAnswer:'
    expect(lines[0]).toEqual({
      id: 'nq-fixture-0001',
      dataset: 'narrativeqa',
      messages: [{role: 'user', content: expected}],
      max_tokens: 128,
      answers: raw[0]!.answers,
      length: 104,
    })
    // "{input}" inside the context is not a placeholder (Python str.format semantics)
    expect(lines[1]!.messages[0]!.content).toContain('Each {input} of oil')
  })

  test('directory of the unzipped data.zip: two datasets, --num-samples per dataset', async () => {
    const lines = await collect(convertLongBench({input: join(FIX, 'v1'), datasets: parseDatasetList('narrativeqa,qasper'), numSamples: 1}))
    expect(lines.map((l) => [l.dataset, l.id, l.max_tokens])).toEqual([
      ['narrativeqa', 'nq-fixture-0001', 128],
      ['qasper', 'qasper-fixture-0001', 128],
    ])
    const qasper = (await fixtureRecords(join(V1_DIR, 'qasper.jsonl')))[0]!
    expect(lines[1]!.messages[0]!.content).toBe(DATASET2PROMPT.qasper.replace('{context}', qasper.context as string).replace('{input}', qasper.input as string))
    const all = await collect(convertLongBench({input: V1_DIR, datasets: ['all']}))
    expect(all).toHaveLength(5)
  })

  test('unknown dataset names list the valid ones; a directory needs --dataset', async () => {
    expect(() => parseDatasetList('narrativeqa,nope')).toThrow(DualBenchError)
    expect(() => parseDatasetList('nope')).toThrow(/unknown LongBench dataset "nope" — valid names: narrativeqa, qasper, .*repobench-p \(or "all"\)/)
    await expect(collect(convertLongBench({input: V1_DIR}))).rejects.toThrow(/is a directory — pass --dataset/)
    await expect(collect(convertLongBench({input: V1_DIR, datasets: ['hotpotqa']}))).rejects.toThrow(/no LongBench file for hotpotqa/)
    await expect(collect(convertLongBench({input: join(FIX, 'missing.jsonl')}))).rejects.toThrow(/--input not found/)
  })

  test('--max-input-length cuts the prompt in the middle to exactly N tokens', async () => {
    const tok = await loadTokenizer()
    const [line] = await collect(convertLongBench({input: NQ, numSamples: 1, maxInputLength: 60, tokenizer: tok}))
    const content = line!.messages[0]!.content
    expect(tok.encode(content).length).toBe(60)
    expect(content.startsWith('You are given a story')).toBe(true)
    expect(content.endsWith('Answer:')).toBe(true)
  })
})

describe('v2', () => {
  test('data.json: prompt is exactly 0shot.txt filled in (values stripped), max_tokens 128', async () => {
    const lines = await collect(convertLongBench({input: V2, numSamples: 2}))
    const raw = await fixtureRecords(V2)
    expect(lines).toHaveLength(2)
    const r = raw[0]! as Record<string, string>
    const expected =
      'Please read the following text and answer the question below.\n\n<text>\n' +
      r.context!.trim() +
      '\n</text>\n\nWhat is the correct answer to this question: ' +
      r.question!.trim() +
      '\nChoices:\n(A) Q1\n(B) Q2\n(C) Q3\n(D) Q4\n\nFormat your response as follows: "The correct answer is (insert answer here)".'
    expect(lines[0]).toEqual({id: 'v2-fixture-0001', dataset: 'longbench_v2', messages: [{role: 'user', content: expected}], max_tokens: 128, answers: ['C'], length: 'short'})
    expect(LONGBENCH_V2_TEMPLATE.startsWith('Please read the following text')).toBe(true)
    // a literal $Q$ in the document stays (single-pass fill)
    expect(lines[1]!.messages[0]!.content).toContain('A literal $Q$ marker')
  })
})

test('converted output round-trips through loadDataset', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dual-bench-lb-'))
  try {
    const out = join(dir, 'sub', 'lb.jsonl')
    const n = await writeJsonl(out, convertLongBench({input: V2}))
    expect(n).toBe(3)
    const {samples} = await loadDataset(out)
    expect(samples.map((s) => [s.id, s.maxTokens])).toEqual([
      ['v2-fixture-0001', 128],
      ['v2-fixture-0002', 128],
      ['v2-fixture-0003', 128],
    ])
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
})
