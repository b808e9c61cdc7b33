import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {asyncBufferFromFile, parquetReadObjects} from 'hyparquet'

import {convertLongBench, type LongBenchLine} from '../../src/dataset/index.js'
import {DATASET2PROMPT} from '../../src/dataset/longbench-templates.js'
import {tinyParquet} from './helpers/tiny-parquet.js'

const FIX = fileURLToPath(new URL('../fixtures/longbench/', import.meta.url))
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dual-bench-parquet-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function collect(it: AsyncIterable<LongBenchLine>): Promise<LongBenchLine[]> {
  const out: LongBenchLine[] = []
  for await (const l of it) out.push(l)
  return out
}

test('v1 parquet (HF layout <name>/test/0000.parquet) converts like the JSONL', async () => {
  const rows = (await readFile(join(FIX, 'v1', 'data', 'narrativeqa.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const file = join(dir, 'narrativeqa', 'test', '0000.parquet')
  await mkdir(join(dir, 'narrativeqa', 'test'), {recursive: true})
  await writeFile(
    file,
    tinyParquet([
      {name: 'input', type: 'string', values: rows.map((r) => r.input)},
      {name: 'context', type: 'string', values: rows.map((r) => r.context)},
      // Real files store answers as a list column; this writer only does flat columns.
      {name: 'answers', type: 'string', values: rows.map((r) => r.answers[0])},
      {name: 'length', type: 'int64', values: rows.map((r) => r.length)},
      {name: 'dataset', type: 'string', values: rows.map((r) => r.dataset)},
      {name: '_id', type: 'string', values: rows.map((r) => r._id)},
    ]),
  )
  // The helper's output is a real parquet file: hyparquet reads it back.
  expect((await parquetReadObjects({file: await asyncBufferFromFile(file)}))[0]).toMatchObject({_id: 'nq-fixture-0001', length: 104n})

  const lines = await collect(convertLongBench({input: dir, datasets: ['narrativeqa'], numSamples: 2}))
  expect(lines).toHaveLength(2)
  expect(lines[0]).toEqual({
    id: 'nq-fixture-0001',
    dataset: 'narrativeqa',
    messages: [{role: 'user', content: DATASET2PROMPT.narrativeqa.replace('{context}', rows[0].context).replace('{input}', rows[0].input)}],
    max_tokens: 128,
    answers: ['Tom'],
    length: 104,
  })
})

test('v2 parquet file', async () => {
  const rows = JSON.parse(await readFile(join(FIX, 'v2', 'data.json'), 'utf8')) as Record<string, string>[]
  const cols = ['_id', 'domain', 'sub_domain', 'difficulty', 'length', 'question', 'choice_A', 'choice_B', 'choice_C', 'choice_D', 'answer', 'context']
  const file = join(dir, 'train-00000-of-00001.parquet')
  await writeFile(file, tinyParquet(cols.map((name) => ({name, type: 'string' as const, values: rows.map((r) => r[name]!)}))))
  const fromParquet = await collect(convertLongBench({input: file}))
  const fromJson = await collect(convertLongBench({input: join(FIX, 'v2', 'data.json')}))
  expect(fromParquet).toEqual(fromJson)
})
