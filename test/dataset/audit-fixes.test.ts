import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadDataset} from '../../src/dataset/index.js'
import {firstInvalidLine, utf16Bom} from '../../src/dataset/utf8-decode.js'
import {inputErrorOf, writeFileIn} from '../helpers/input-error.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dual-bench-audit-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

const tmpFile = (name: string, content: string | Buffer) => writeFileIn(dir, name, content)


const line = (o: unknown): string => JSON.stringify(o) + '\n'
/** "春天" in GBK. */
const GBK_SPRING = Buffer.from([0xb4, 0xba, 0xcc, 0xec])

describe('file encoding', () => {
  test('a Latin-1 JSONL file is an error naming file:line and how to re-save it', async () => {
    const p = await tmpFile('latin1.jsonl', Buffer.concat([Buffer.from(line({id: 'ok', text: 'plain'})), Buffer.from('{"id":"l1","text":"caf\xe9"}\n', 'latin1')]))
    const msg = await inputErrorOf(() => loadDataset(p))
    expect(msg).toContain(`${p}:2:`)
    expect(msg).toMatch(/not valid UTF-8/)
    expect(msg).toMatch(/iconv -f GBK -t UTF-8/)
  })

  test('a GBK file is an error, in JSONL and in a JSON array', async () => {
    const jsonl = await tmpFile('gbk.jsonl', Buffer.concat([Buffer.from('{"id":"g1","text":"'), GBK_SPRING, Buffer.from('"}\n')]))
    expect(await inputErrorOf(() => loadDataset(jsonl))).toContain(`${jsonl}:1: not valid UTF-8`)
    const json = await tmpFile('gbk.json', Buffer.concat([Buffer.from('[\n{"id":"g0","text":"fine"},\n{"id":"g1","text":"'), GBK_SPRING, Buffer.from('"}\n]\n')]))
    expect(await inputErrorOf(() => loadDataset(json))).toContain(`${json}:3: not valid UTF-8`)
  })

  test('the line is right deep in a multi-chunk file (JSONL 64 KB chunks, JSON 1 MB chunks)', async () => {
    const good = Array.from({length: 30000}, (_, i) => line({id: `s${i}`, text: `sample number ${i} 春天 ${'x'.repeat(40)}`})).join('')
    const bad = Buffer.concat([Buffer.from('{"id":"bad","text":"'), GBK_SPRING, Buffer.from('"}\n')])
    const jsonl = await tmpFile('deep.jsonl', Buffer.concat([Buffer.from(good), bad]))
    expect(await inputErrorOf(() => loadDataset(jsonl))).toContain(`${jsonl}:30001: not valid UTF-8`)
    const arr = '[\n' + good.replace(/\n/g, ',\n')
    const json = await tmpFile('deep.json', Buffer.concat([Buffer.from(arr), bad, Buffer.from(']\n')]))
    expect(await inputErrorOf(() => loadDataset(json))).toContain(`${json}:30002: not valid UTF-8`)
  })

  test('streaming is kept: --num-samples stops before a bad line far into the file', async () => {
    const good = Array.from({length: 40000}, (_, i) => line({id: `s${i}`, text: `sample ${i} ${'y'.repeat(80)}`})).join('')
    const p = await tmpFile('late-bad.jsonl', Buffer.concat([Buffer.from(good), Buffer.from('{"id":"z","text":"\xe9"}\n', 'latin1')]))
    const {samples} = await loadDataset(p, {numSamples: 2})
    expect(samples.map((s) => s.id)).toEqual(['s0', 's1'])
  })

  test('a character cut off at the end of the file is an error', async () => {
    const p = await tmpFile('cut.jsonl', Buffer.concat([Buffer.from('{"id":"a","text":"ok"}\n{"id":"b","text":"x'), Buffer.from([0xe6, 0x98])]))
    expect(await inputErrorOf(() => loadDataset(p))).toContain(`${p}:2: not valid UTF-8`)
  })

  test('UTF-16 files (LE and BE byte order marks) are an error naming UTF-16', async () => {
    const text = line({id: 'u1', text: 'hello'})
    const le = await tmpFile('utf16le.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))
    const leMsg = await inputErrorOf(() => loadDataset(le))
    expect(leMsg).toContain(`${le}:1: the file is UTF-16 LE`)
    expect(leMsg).toMatch(/re-save it as UTF-8/)
    const be = Buffer.from(text, 'utf16le').swap16()
    const beFile = await tmpFile('utf16be.json', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('[', 'utf16le').swap16(), be]))
    expect(await inputErrorOf(() => loadDataset(beFile))).toContain(`${beFile}:1: the file is UTF-16 BE`)
  })

  test('valid UTF-8 with a BOM, CJK text and a literal U+FFFD still loads', async () => {
    const p = await tmpFile('ok.jsonl', '\uFEFF' + line({id: 'c', text: '写一首关于春天的诗'}) + line({id: 'r', text: 'replacement \uFFFD char'}))
    const {samples} = await loadDataset(p)
    expect(samples.map((s) => s.messages[0].content)).toEqual(['写一首关于春天的诗', 'replacement \uFFFD char'])
    const j = await tmpFile('ok.json', '\uFEFF[' + JSON.stringify({id: 'c', text: '春天'}) + ']')
    expect((await loadDataset(j)).samples[0].messages[0].content).toBe('春天')
  })

  test('pure helpers: BOM sniffing and the bad line inside a rejected chunk', () => {
    expect(utf16Bom(Buffer.from([0xff, 0xfe, 0x7b]))).toBe('UTF-16 LE')
    expect(utf16Bom(Buffer.from([0xfe, 0xff]))).toBe('UTF-16 BE')
    expect(utf16Bom(Buffer.from('{"a"'))).toBeUndefined()
    // Leading continuation bytes belong to the previous chunk's character; a trailing partial one is not an error.
    const chunk = Buffer.concat([Buffer.from([0x98, 0xa5]), Buffer.from('a\nb\n'), Buffer.from([0xe9]), Buffer.from('x\nc'), Buffer.from([0xe6])])
    expect(firstInvalidLine(chunk)).toBe(2)
    expect(firstInvalidLine(Buffer.from('ok\nfine'))).toBe(0)
  })
})

describe('chat records', () => {
  test('trailing assistant turns (fine-tuning layout) are dropped: the prompt ends at the last user turn', async () => {
    const p = await tmpFile(
      'trailing.jsonl',
      line({
        id: 'oa3',
        messages: [
          {role: 'user', content: 'q1'},
          {role: 'assistant', content: 'a1'},
          {role: 'user', content: 'q2'},
          {role: 'assistant', content: 'trailing assistant answer'},
          {role: 'assistant', content: 'and more'},
        ],
      }) + line({id: 'sys', messages: [{role: 'system', content: 'S'}, {role: 'user', content: 'q'}, {role: 'assistant', content: 'ans'}]}),
    )
    const {samples} = await loadDataset(p)
    expect(samples[0].messages).toEqual([
      {role: 'user', content: 'q1'},
      {role: 'assistant', content: 'a1'},
      {role: 'user', content: 'q2'},
    ])
    expect(samples[1].messages).toEqual([
      {role: 'system', content: 'S'},
      {role: 'user', content: 'q'},
    ])
  })

  test('empty or blank chat content is rejected like an empty "text", with file:line', async () => {
    const cases = [
      [{id: 'c1', messages: [{role: 'user', content: ''}]}, 'messages[0].content is empty'],
      [{id: 'c2', conversations: [{from: 'human', value: ''}]}, 'conversations[0].value is empty'],
      [{id: 'c3', messages: [{role: 'user', content: '   '}]}, 'messages[0].content is empty'],
      [{id: 'c4', messages: [{role: 'system', content: 'S'}, {role: 'user', content: [{type: 'text', text: ' \n'}]}]}, 'messages[1].content is empty'],
    ] as const
    for (const [i, [rec, reason]] of cases.entries()) {
      const p = await tmpFile(`empty${i}.jsonl`, line({id: 'fine', text: 'ok'}) + line(rec))
      const msg = await inputErrorOf(() => loadDataset(p))
      expect(msg).toContain(`${p}:2: ${reason}`)
      expect(msg).toMatch(/--skip-invalid/)
    }
    const all = await tmpFile('empty-all.jsonl', cases.map(([rec]) => line(rec)).join('') + line({id: 'ok', text: 'x'}))
    const r = await loadDataset(all, {skipInvalid: true})
    expect(r.skipped).toBe(4)
    expect(r.samples.map((s) => s.id)).toEqual(['ok'])
  })
})

describe('load warnings', () => {
  test('identical prompts under different ids give a warning with count and first examples, not an error', async () => {
    const p = await tmpFile(
      'dupprompt.jsonl',
      line({id: 'a', text: 'same'}) + line({id: 'b', text: 'same'}) + line({id: 'c', text: 'other'}) + line({id: 'd', messages: [{role: 'user', content: 'same'}]}),
    )
    const {samples, warnings} = await loadDataset(p)
    expect(samples).toHaveLength(4)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(`${p}: 2 sample(s) have the same prompt`)
    expect(warnings[0]).toContain('id "b" on line 2 = id "a" on line 1')
    expect(warnings[0]).toContain('id "d" on line 4 = id "a" on line 1')
    expect(warnings[0]).toMatch(/cold\/warm/)
  })

  test('distinct prompts and enough samples give no warning', async () => {
    const p = await tmpFile('distinct.jsonl', line({id: 'a', text: 'one'}) + line({id: 'b', text: 'two'}) + line({id: 'c', text: 'two', system: 'S'}))
    expect((await loadDataset(p, {numSamples: 3})).warnings).toEqual([])
    expect((await loadDataset(p, {numSamples: 2, shuffle: true})).warnings).toEqual([])
  })

  test('--num-samples larger than the dataset runs what there is, with a warning', async () => {
    const p = await tmpFile('short.jsonl', Array.from({length: 30}, (_, i) => line({id: `s${i}`, text: `prompt ${i}`})).join('') + 'not json\n')
    const r = await loadDataset(p, {numSamples: 100, skipInvalid: true})
    expect(r.samples).toHaveLength(30)
    expect(r.warnings).toEqual([expect.stringContaining(`asked for 100 samples, ${p} has 30 valid sample(s) (1 invalid record(s) skipped)`)])
    const shuffled = await loadDataset(p, {numSamples: 31, shuffle: true, skipInvalid: true})
    expect(shuffled.warnings[0]).toContain('--num-samples 31: asked for 31 samples')
  })
})
