import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadTokenizer, truncateMiddle, truncateSamples, type Sample, type Tokenizer} from '../../src/dataset/index.js'
import {DualBenchError} from '../../src/errors.js'

let tok: Tokenizer
beforeAll(async () => {
  tok = await loadTokenizer()
})

const ENGLISH = 'The harbour master logged every ship that entered the bay, noting its flag, its cargo and the hour of the tide. '.repeat(40)
const CHINESE = '长江是中国最长的河流，全长约六千三百公里，流经十一个省级行政区，最后注入东海。沿岸城市众多，航运十分繁忙。'.repeat(30)
// Emoji and CJK make the tokenizer split characters across tokens, so naive decode-at-the-cut breaks them.
const MIXED = 'Start 🚢⚓ 港口 🌊🌊 harbour — naïve café, 東京 🗼 and Zürich. '.repeat(40) + 'END MARKER'

describe('truncateMiddle', () => {
  test.each([
    ['english', ENGLISH],
    ['chinese', CHINESE],
    ['mixed emoji/CJK', MIXED],
  ])('%s: re-encodes to exactly N tokens for every N tried, keeps head and tail', (_name, text) => {
    const total = tok.encode(text).length
    const budgets = [1, 2, 3, 5, 8, 13, 64, 100, 257, Math.floor(total / 2), total - 1]
    for (const n of budgets) {
      const cut = truncateMiddle(text, n, tok)
      expect(tok.encode(cut.text).length).toBe(n)
      expect(cut.tokens).toBe(n)
      expect(cut.text).not.toContain('\uFFFD')
    }
    const cut = truncateMiddle(text, 100, tok)
    expect(text.startsWith(cut.text.slice(0, 20))).toBe(true)
    expect(text.endsWith(cut.text.slice(-20))).toBe(true)
  })

  test('sweeping every budget 1..300 on emoji text never exceeds N and is exact', () => {
    let exact = 0
    for (let n = 1; n <= 300; n++) {
      const got = tok.encode(truncateMiddle(MIXED, n, tok).text).length
      expect(got).toBeLessThanOrEqual(n)
      if (got === n) exact++
    }
    expect(exact).toBe(300)
  })

  test('text that fits is returned unchanged', () => {
    expect(truncateMiddle('short text', 100, tok)).toEqual({text: 'short text', tokens: tok.encode('short text').length})
  })
})

describe('truncateSamples', () => {
  const sample: Sample = {
    id: 's1',
    messages: [
      {role: 'system', content: 'You are a concise assistant.'},
      {role: 'user', content: 'short first question'},
      {role: 'assistant', content: 'ok'},
      {role: 'user', content: ENGLISH + 'Question: which ships?'},
    ],
  }

  test('cuts the longest user message so the whole sample is exactly the limit, and records lengths', () => {
    const original = sample.messages.reduce((a, m) => a + tok.encode(m.content).length, 0)
    const [out] = truncateSamples([sample], 300, tok)
    const after = out!.messages.reduce((a, m) => a + tok.encode(m.content).length, 0)
    expect(after).toBe(300)
    expect(out!.inputLength).toEqual({original, truncated: 300, unit: 'tokens'})
    expect(out!.messages.slice(0, 3)).toEqual(sample.messages.slice(0, 3))
    expect(out!.messages[3]!.content.endsWith('Question: which ships?')).toBe(true)
    expect(out!.messages[3]!.content.startsWith('The harbour master')).toBe(true)
    // input not mutated
    expect(sample.messages[3]!.content.length).toBeGreaterThan(out!.messages[3]!.content.length)
  })

  test('samples under the limit are unchanged but get inputLength', () => {
    const small: Sample = {id: 'x', messages: [{role: 'user', content: 'hello there'}]}
    const [out] = truncateSamples([small], 1000, tok)
    expect(out!.messages).toEqual(small.messages)
    expect(out!.inputLength).toEqual({original: 2, truncated: 2, unit: 'tokens'})
  })

  test('a limit below the non-user messages is an input error naming the sample', () => {
    expect(() => truncateSamples([sample], 5, tok)).toThrow(DualBenchError)
    expect(() => truncateSamples([sample], 5, tok)).toThrow(/sample "s1": its non-user messages alone take \d+ tokens/)
  })
})

describe('loadTokenizer', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dual-bench-tok-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  test('cl100k_base by name differs from the o200k_base default', async () => {
    const cl = await loadTokenizer('cl100k_base')
    expect(tok.name).toBe('tiktoken:o200k_base')
    expect(cl.name).toBe('tiktoken:cl100k_base')
    expect(cl.encode(CHINESE).length).not.toBe(tok.encode(CHINESE).length)
    // special-token text is plain text, not an error
    expect(tok.encode('<|endoftext|>').length).toBeGreaterThan(1)
  })

  test('loads a Hugging Face tokenizer.json from disk (no network) and truncates exactly with it', async () => {
    // A tiny byte-level BPE in the GPT-2 layout: 256 byte tokens plus a few merges.
    const bytes: number[] = []
    for (let b = 33; b <= 126; b++) bytes.push(b)
    for (let b = 161; b <= 172; b++) bytes.push(b)
    for (let b = 174; b <= 255; b++) bytes.push(b)
    const chars = [...bytes]
    let extra = 0
    for (let b = 0; b < 256; b++) {
      if (!bytes.includes(b)) {
        bytes.push(b)
        chars.push(256 + extra++)
      }
    }
    const vocab: Record<string, number> = {}
    bytes.forEach((b, i) => (vocab[String.fromCharCode(chars[i]!)] = b))
    const merges: string[] = []
    let id = 256
    for (const [a, b] of [['t', 'h'], ['th', 'e'], ['Ġ', 't'], ['Ġt', 'he'], ['e', 'r'], ['Ġ', 'a']] as const) {
      merges.push(`${a} ${b}`)
      vocab[a + b] = id++
    }
    const json = {
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true},
      post_processor: null,
      decoder: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
      model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges},
    }
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json))
    const hf = await loadTokenizer(dir)
    expect(hf.name).toBe(`hf:${join(dir, 'tokenizer.json')}`)
    expect(hf.encode('the other')).toEqual([vocab.the, vocab['Ġ'], vocab.o, vocab.the, vocab.r])
    expect(hf.decode(hf.encode('the other 港口 🌊'))).toBe('the other 港口 🌊')
    for (const n of [3, 10, 50]) expect(hf.encode(truncateMiddle(MIXED, n, hf).text).length).toBe(n)
  })

  test('missing or broken tokenizer files are input errors', async () => {
    await expect(loadTokenizer(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: tokenizer\.json not found/)
    await writeFile(join(dir, 'broken.json'), '{not json')
    await expect(loadTokenizer(join(dir, 'broken.json'))).rejects.toThrow(/broken\.json: tokenizer\.json is not valid JSON/)
  })
})
