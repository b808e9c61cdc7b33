import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadDataset, loadTokenizer, synthesize, writeJsonl, type SynthOptions, type Tokenizer} from '../../src/dataset/index.js'

let tok: Tokenizer
beforeAll(async () => {
  tok = await loadTokenizer()
})

const OPTS: SynthOptions = {docs: 3, questionsPerDoc: 4, docTokens: 500, questionTokens: 20, systemPromptTokens: 60, seed: 7, maxTokens: 32}

test('exact token lengths for system prompt, documents and questions', () => {
  const lines = [...synthesize(OPTS, tok)]
  expect(lines).toHaveLength(12)
  for (const l of lines) {
    const [system, user] = l.messages
    expect(system!.role).toBe('system')
    expect(tok.encode(system!.content).length).toBe(60)
    const [doc, question] = user!.content.split('\n\n' + `Q${l.synth.question}: `)
    expect(tok.encode(doc!).length).toBe(500)
    expect(tok.encode(`Q${l.synth.question}: ${question}`).length).toBe(20)
    expect(l.synth.tokens).toMatchObject({system: 60, document: 500, question: 20})
    expect(l.synth.tokens.input).toBe(60 + tok.encode(user!.content).length)
    expect(l.max_tokens).toBe(32)
  }
})

test('shared prefixes: one system prompt for all, one document per group, doc-by-doc order', () => {
  const lines = [...synthesize(OPTS, tok)]
  expect(lines.map((l) => l.id)).toEqual(['doc1-q1', 'doc1-q2', 'doc1-q3', 'doc1-q4', 'doc2-q1', 'doc2-q2', 'doc2-q3', 'doc2-q4', 'doc3-q1', 'doc3-q2', 'doc3-q3', 'doc3-q4'])
  expect(new Set(lines.map((l) => l.messages[0]!.content)).size).toBe(1)
  const docOf = (i: number) => lines[i]!.messages[1]!.content.split('\n\nQ')[0]
  expect(docOf(0)).toBe(docOf(3))
  expect(docOf(0)).not.toBe(docOf(4))
  expect(new Set(lines.map((l) => l.messages[1]!.content)).size).toBe(12)
})

test('same seed → identical output; another seed → different text', () => {
  const a = JSON.stringify([...synthesize(OPTS, tok)])
  const b = JSON.stringify([...synthesize(OPTS, tok)])
  const c = JSON.stringify([...synthesize({...OPTS, seed: 8}, tok)])
  expect(a).toBe(b)
  expect(a).not.toBe(c)
})

test('no system message when --system-prompt-tokens 0; written file loads as a dataset', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dual-bench-synth-'))
  try {
    const out = join(dir, 'synth.jsonl')
    expect(await writeJsonl(out, synthesize({...OPTS, systemPromptTokens: 0, docs: 2, questionsPerDoc: 2}, tok))).toBe(4)
    const {samples} = await loadDataset(out)
    expect(samples.map((s) => s.messages.map((m) => m.role))).toEqual([['user'], ['user'], ['user'], ['user']])
    expect(samples[0]!.maxTokens).toBe(32)
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(4)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
})

test('invalid sizes are input errors naming the flag', () => {
  expect(() => [...synthesize({...OPTS, questionTokens: 2}, tok)]).toThrow(/--question-tokens must be an integer ≥ 4, got 2/)
  expect(() => [...synthesize({...OPTS, docs: 0}, tok)]).toThrow(/--docs must be an integer ≥ 1/)
})
