/**
 * What --resume keeps of an interrupted run: which (level, round, index) were measured and where their lines sit in
 * requests.jsonl (the records themselves are read back from the file when a round needs them), from real files.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {loadResumeState} from '../../src/run/resume.js'
import {measuredIndices, pendingIndices} from '../../src/runner/runner.js'

const rec = (level: number, round: number, index: number, extra: Record<string, unknown> = {}) => ({level, round, index, sampleId: `s${index}`, ok: true, ...extra})

describe('loadResumeState', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-resume-state-'))
    await writeFile(path.join(dir, 'run.json'), JSON.stringify({flags: {concurrency: ['2']}, sessions: [{session: 1}]}))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  test('measured requests by (level, round, index): the first line wins, cancelled and cut lines are sent again', async () => {
    const lines = [
      rec(2, 1, 2, {promptPreview: 'multi-byte: 😀 é ✓'}),
      rec(2, 1, 0),
      rec(2, 1, 1, {ok: false, error: {category: 'cancelled', message: 'x'}}),
      '',
      rec(2, 2, 1),
      rec(2, 1, 0, {ok: false, note: 'a later duplicate'}),
      rec(4, 1, 7),
    ].map((l) => (typeof l === 'string' ? l : JSON.stringify(l)))
    const file = path.join(dir, 'requests.jsonl')
    await writeFile(file, lines.join('\n') + '\n' + '{"level":2,"round":2,"ind')
    const state = await loadResumeState(dir)
    expect(state.session).toBe(2)
    expect(state.completed.size).toBe(4)

    const r1 = state.completed.round(2, 1, 3)
    expect([r1.count, r1.has(0), r1.has(1), r1.has(2)]).toEqual([2, true, false, true])
    const got = []
    for await (const r of r1.records()) got.push(r)
    // Plan order, the very records of the file (the first line for index 0).
    expect(got).toEqual([rec(2, 1, 0), rec(2, 1, 2, {promptPreview: 'multi-byte: 😀 é ✓'})])
    // A location is the exact byte range of the line.
    const bytes = await readFile(file)
    const at = r1.location(2)!
    expect(bytes.subarray(at.offset, at.offset + at.length).toString()).toBe(lines[0])
    expect(r1.location(1)).toBeUndefined()

    expect(state.completed.round(2, 2, 3).count).toBe(1)
    // An index beyond the round's planned size is not part of the plan.
    expect(state.completed.round(4, 1, 5).count).toBe(0)
    expect(state.completed.round(4, 1, 8).has(7)).toBe(true)
    expect(state.completed.round(9, 1, 3).count).toBe(0)
  })

  test('no requests.jsonl yet: nothing measured', async () => {
    const state = await loadResumeState(dir)
    expect(state.completed.size).toBe(0)
    expect(state.completed.round(2, 1, 4).count).toBe(0)
  })
})

describe('pure helpers of a resumed level', () => {
  const done = (indices: number[]) => ({count: indices.length, has: (i: number) => indices.includes(i)})

  test('pendingIndices: the indices still to send, in plan order', () => {
    expect([...pendingIndices(5, done([1, 3]))]).toEqual([0, 2, 4])
    expect([...pendingIndices(3, done([]))]).toEqual([0, 1, 2])
    expect([...pendingIndices(2, done([0, 1]))]).toEqual([])
  })

  test('measuredIndices: each measured index once, round 1 first, in plan order', () => {
    expect(measuredIndices([done([2, 0]), done([1, 2, 4])], 5)).toEqual([
      {round: 1, index: 0},
      {round: 1, index: 2},
      {round: 2, index: 1},
      {round: 2, index: 4},
    ])
  })
})
