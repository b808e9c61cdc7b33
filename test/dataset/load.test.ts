import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {loadDataset, sha256File} from '../../src/dataset/index.js'
import {inputErrorOf, writeFileIn} from '../helpers/input-error.js'

const FIX = fileURLToPath(new URL('../fixtures/datasets/', import.meta.url))
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dual-bench-dataset-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

const tmpFile = (name: string, content: string | Buffer) => writeFileIn(dir, name, content)


describe('sample shapes', () => {
  test('every accepted shape normalises to chat messages', async () => {
    const {samples, format, skipped} = await loadDataset(join(FIX, 'shapes.jsonl'))
    expect(format).toBe('jsonl')
    expect(skipped).toBe(0)
    const byId = Object.fromEntries(samples.map((s) => [s.id, s]))
    // seed form, no id → positional id
    expect(samples[0]).toEqual({id: 'item-1', messages: [{role: 'user', content: '写一首关于春天的诗'}]})
    expect(byId.p1).toEqual({id: 'p1', maxTokens: 64, messages: [{role: 'user', content: 'Explain quantum entanglement in two sentences.'}]})
    expect(byId.m1!.messages.map((m) => m.role)).toEqual(['system', 'user'])
    // ShareGPT: turns up to and including the first human turn
    expect(byId.sg1!.messages).toEqual([
      {role: 'system', content: 'Be brief.'},
      {role: 'user', content: 'What is 2+2?'},
    ])
    // LongBench-like without a known dataset: context, blank line, input
    expect(byId.lb1!.messages).toEqual([{role: 'user', content: 'The canal opened in 1825.\n\nWhen did the canal open?'}])
    // convert-longbench output form
    expect(byId.cv1).toEqual({id: 'cv1', maxTokens: 128, messages: [{role: 'user', content: 'Story: ...\n\nQuestion: who?\n\nAnswer:'}]})
    expect(byId.s1!.messages).toEqual([
      {role: 'system', content: 'Answer in French.'},
      {role: 'user', content: 'What colour is the sky?'},
    ])
  })

  test('Alpaca, Dolly, QA and role/content conversation records become one prompt each', async () => {
    const lines = [
      {id: 'alpaca-no-input', instruction: 'Give three tips for staying healthy.', input: '', output: '1. Eat well.'},
      {id: 'alpaca', instruction: 'Translate to English.', input: 'bonjour', output: 'hello'},
      {id: 'dolly', instruction: 'When was the canal opened?', context: 'The canal opened in 1825.', response: '1825', category: 'closed_qa'},
      {id: 'gsm8k', question: 'What is 6 times 7?', answer: '#### 42'},
      {id: 'squad', context: 'Paris is the capital of France.', question: 'What is the capital of France?', answers: {text: ['Paris']}},
      {id: 'lmsys', conversation: [{role: 'user', content: 'hi'}, {role: 'assistant', content: 'hello'}, {role: 'user', content: 'more'}]},
      {id: 'sharegpt-rc', conversations: [{role: 'system', content: 'Be brief.'}, {role: 'user', content: [{type: 'text', text: 'Why?'}]}]},
    ]
    const p = await tmpFile('more-shapes.jsonl', lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
    const {samples, skipped} = await loadDataset(p)
    expect(skipped).toBe(0)
    const prompt = Object.fromEntries(samples.map((s) => [s.id, s.messages]))
    expect(prompt['alpaca-no-input']).toEqual([{role: 'user', content: 'Give three tips for staying healthy.'}])
    expect(prompt.alpaca).toEqual([{role: 'user', content: 'Translate to English.\n\nbonjour'}])
    expect(prompt.dolly).toEqual([{role: 'user', content: 'When was the canal opened?\n\nThe canal opened in 1825.'}])
    expect(prompt.gsm8k).toEqual([{role: 'user', content: 'What is 6 times 7?'}])
    expect(prompt.squad).toEqual([{role: 'user', content: 'Paris is the capital of France.\n\nWhat is the capital of France?'}])
    // Up to and including the first human turn, as for ShareGPT's from/value turns.
    expect(prompt.lmsys).toEqual([{role: 'user', content: 'hi'}])
    expect(prompt['sharegpt-rc']).toEqual([
      {role: 'system', content: 'Be brief.'},
      {role: 'user', content: 'Why?'},
    ])
  })

  test('a bad field of the newer shapes is named with its line', async () => {
    const p = await tmpFile('bad-shapes.jsonl', [JSON.stringify({instruction: 'x', input: 3}), JSON.stringify({conversation: [{role: 'robot', content: 'x'}]}), JSON.stringify({question: 'ok?'})].join('\n') + '\n')
    const {samples, skippedExamples} = await loadDataset(p, {skipInvalid: true})
    expect(samples.map((x) => x.messages[0]!.content)).toEqual(['ok?'])
    expect(skippedExamples[0]).toMatch(/bad-shapes\.jsonl:1: "input" must be a string, got number/)
    expect(skippedExamples[1]).toMatch(/bad-shapes\.jsonl:2: conversation\[0\]\.role "robot" is not one of human, user/)
  })

  test('a raw LongBench v1 record gets its dataset template and max length', async () => {
    const p = await tmpFile('raw-lb.jsonl', JSON.stringify({_id: 'x1', dataset: 'qasper', context: 'CTX', input: 'Q?', answers: ['a']}) + '\n')
    const {samples} = await loadDataset(p)
    expect(samples[0]!.id).toBe('x1')
    expect(samples[0]!.maxTokens).toBe(128)
    expect(samples[0]!.messages[0]!.content).toContain('Article: CTX\n\n Answer the question')
  })

  test('OpenAI text content parts are joined; non-text parts are rejected', async () => {
    const ok = await tmpFile('parts.jsonl', JSON.stringify({messages: [{role: 'user', content: [{type: 'text', text: 'a'}, {type: 'text', text: 'b'}]}]}) + '\n')
    expect((await loadDataset(ok)).samples[0]!.messages[0]!.content).toBe('a\nb')
    const bad = await tmpFile('image.jsonl', JSON.stringify({messages: [{role: 'user', content: [{type: 'image_url', image_url: {url: 'x'}}]}]}) + '\n')
    expect(await inputErrorOf(() => loadDataset(bad))).toMatch(/image\.jsonl:1: messages\[0\]\.content\[0\] is not a .*text/)
  })
})

describe('file forms', () => {
  test('JSON array, {"data": [...]} and JSONL give the same samples', async () => {
    const arr = await loadDataset(join(FIX, 'array.json'))
    const obj = await loadDataset(join(FIX, 'object.json'))
    const jsonl = await loadDataset(join(FIX, 'shapes.jsonl'), {numSamples: 3})
    expect(arr.format).toBe('json')
    expect(obj.format).toBe('json')
    expect(arr.samples).toEqual(jsonl.samples)
    expect(obj.samples).toEqual(jsonl.samples)
  })

  test('.ndjson is read as JSONL; a .json file holding JSONL falls back to JSONL', async () => {
    const lines = JSON.stringify({text: 'a'}) + '\n' + JSON.stringify({text: 'b'}) + '\n'
    expect((await loadDataset(await tmpFile('x.ndjson', lines))).samples).toHaveLength(2)
    const r = await loadDataset(await tmpFile('lines.json', lines))
    expect(r.format).toBe('jsonl')
    expect(r.samples.map((s) => s.messages[0]!.content)).toEqual(['a', 'b'])
  })

  test('compact one-line arrays, strings with brackets/escapes, CRLF and a BOM', async () => {
    const text = '\uFEFF[{"text":"a ] , [ \\" }"},{"text":"b\\\\"}]\r\n'
    const {samples} = await loadDataset(await tmpFile('compact.json', text))
    expect(samples.map((s) => s.messages[0]!.content)).toEqual(['a ] , [ " }', 'b\\'])
    const crlf = await loadDataset(await tmpFile('crlf.jsonl', '{"text":"a"}\r\n\r\n{"text":"b"}\r\n'))
    expect(crlf.samples).toHaveLength(2)
  })
})

describe('errors name file and line', () => {
  test('JSONL: the first bad line stops the load with file:line and a hint', async () => {
    const p = join(FIX, 'bad-lines.jsonl')
    const msg = await inputErrorOf(() => loadDataset(p))
    expect(msg).toMatch(/bad-lines\.jsonl:3: invalid JSON/)
    expect(msg).toContain('--skip-invalid')
  })

  test('--skip-invalid skips and counts bad records (parse and shape errors)', async () => {
    const r = await loadDataset(join(FIX, 'bad-lines.jsonl'), {skipInvalid: true})
    expect(r.samples.map((s) => s.id)).toEqual(['a', 'b', 'd', 'g'])
    expect(r.skipped).toBe(3)
    expect(r.skippedExamples[0]).toMatch(/:3: invalid JSON/)
    expect(r.skippedExamples[1]).toMatch(/:5: no prompt field found \(keys: id, answer\)/)
    expect(r.skippedExamples[2]).toMatch(/:6: messages\[0\]\.role "bot" is not one of/)
  })

  test('without shuffle, reading stops after N valid samples (a later bad line is never seen)', async () => {
    const r = await loadDataset(join(FIX, 'bad-lines.jsonl'), {numSamples: 2})
    expect(r.samples.map((s) => s.id)).toEqual(['a', 'b'])
  })

  test('JSON array: a syntax error inside an element reports the line of the error', async () => {
    const msg = await inputErrorOf(() => loadDataset(join(FIX, 'bad-array.json')))
    expect(msg).toMatch(/bad-array\.json:7: invalid JSON/)
    const r = await loadDataset(join(FIX, 'bad-array.json'), {skipInvalid: true})
    expect(r.samples.map((s) => s.id)).toEqual(['a', 'c'])
    expect(r.skipped).toBe(1)
  })

  test('structural errors: trailing comma, double comma, unterminated array, not an array', async () => {
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('t1.json', '[\n{"text":"a"},\n]\n')))).toMatch(/t1\.json:3: trailing comma/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('t2.json', '[{"text":"a"},\n,{"text":"b"}]')))).toMatch(/t2\.json:2: unexpected ","/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('t3.json', '[{"text":"a"},\n{"text":"b"}\n')))).toMatch(/t3\.json:3: unexpected end of file/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('t4.json', '"just a string"')))).toMatch(/t4\.json:1: expected a JSON array/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('t5.json', '{"items": []}')))).toMatch(/t5\.json:1: the JSON object has no "data" array/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('t6.json', '[{"text":"a"}]\n[1]')))).toMatch(/t6\.json:2: unexpected content after the end/)
  })

  test('empty, all-invalid, missing and directory paths are clear errors', async () => {
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('empty.jsonl', '\n\n')))).toMatch(/empty\.jsonl: no samples found/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('empty.json', '')))).toMatch(/empty\.json:1: the file is empty/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('emptyarr.json', '[]')))).toMatch(/no samples found/)
    const allBad = await tmpFile('allbad.jsonl', '{"x":1}\n{"y":2}\n')
    expect(await inputErrorOf(() => loadDataset(allBad, {skipInvalid: true}))).toMatch(/no valid samples — all 2 records were invalid/)
    expect(await inputErrorOf(() => loadDataset(join(dir, 'nope.jsonl')))).toMatch(/nope\.jsonl: dataset file not found/)
    expect(await inputErrorOf(() => loadDataset(dir))).toMatch(/is a directory/)
  })

  test('field checks: max_tokens, system clash, duplicate ids, no user turn', async () => {
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('mt.jsonl', '{"text":"a","max_tokens":0}\n')))).toMatch(/mt\.jsonl:1: "max_tokens" must be a positive integer/)
    const clash = JSON.stringify({system: 's', messages: [{role: 'system', content: 'x'}, {role: 'user', content: 'u'}]})
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('sys.jsonl', clash + '\n')))).toMatch(/sys\.jsonl:1: has both "system"/)
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('dup.jsonl', '{"id":"a","text":"1"}\n{"id":"b","text":"2"}\n{"id":"a","text":"3"}\n')))).toMatch(
      /dup\.jsonl:3: duplicate id "a" \(first used on line 1\)/,
    )
    expect(await inputErrorOf(async () => loadDataset(await tmpFile('nouser.jsonl', JSON.stringify({conversations: [{from: 'gpt', value: 'hi'}]}) + '\n')))).toMatch(/no human turn/)
  })
})

describe('--shuffle --seed', () => {
  let big: string
  beforeAll(async () => {
    big = await tmpFile('hundred.jsonl', Array.from({length: 100}, (_, i) => JSON.stringify({id: `s${i}`, text: `sample ${i}`})).join('\n') + '\n')
  })

  test('same seed → same subset in the same order; different seed → different subset', async () => {
    const a = await loadDataset(big, {numSamples: 10, shuffle: true, seed: 42})
    const b = await loadDataset(big, {numSamples: 10, shuffle: true, seed: 42})
    const c = await loadDataset(big, {numSamples: 10, shuffle: true, seed: 7})
    const ids = (r: typeof a) => r.samples.map((s) => s.id)
    expect(ids(a)).toEqual(ids(b))
    expect(ids(a)).not.toEqual(ids(c))
    expect(new Set(ids(a)).size).toBe(10)
    expect(a.seed).toBe(42)
    // Not just the first 10 in order.
    expect(ids(a)).not.toEqual(Array.from({length: 10}, (_, i) => `s${i}`))
  })

  test('shuffle reads the whole file: samples from the end can be chosen', async () => {
    const seen = new Set<string>()
    for (let seed = 0; seed < 10; seed++) {
      for (const s of (await loadDataset(big, {numSamples: 5, shuffle: true, seed})).samples) seen.add(s.id)
    }
    expect([...seen].some((id) => Number(id.slice(1)) >= 90)).toBe(true)
  })

  test('shuffle without --num-samples returns every sample, permuted', async () => {
    const r = await loadDataset(big, {shuffle: true, seed: 1})
    expect(r.samples).toHaveLength(100)
    expect(new Set(r.samples.map((s) => s.id)).size).toBe(100)
  })
})

test('sha256File streams the file hash', async () => {
  const p = await tmpFile('hash.txt', 'abc')
  expect(await sha256File(p)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})
