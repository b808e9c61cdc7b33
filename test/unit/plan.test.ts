import {buildPlan, levelRequestLists, newSalt, PlanSamples, repeatSamples} from '../../src/runner/plan.js'
import {buildRequestBody, promptPreview} from '../../src/http/request-body.js'
import type {Sample} from '../../src/dataset/sample.js'

const samples: Sample[] = [
  {id: 'a', messages: [{role: 'system', content: 'sys'}, {role: 'user', content: 'hello'}]},
  {id: 'b', messages: [{role: 'user', content: 'world'}], maxTokens: 7},
]
const body = {api: 'chat' as const, model: 'm', stream: true, includeUsage: true}

describe('buildPlan', () => {
  test('levels in order, two rounds, same bytes in the same order', () => {
    const plan = buildPlan(samples, [5, 1], body, {rounds: 2, salts: ['[s5]', '[s1]']})
    expect(plan.map((l) => [l.concurrency, l.rounds, l.size])).toEqual([[5, 2, 2], [1, 2, 2]])
    for (const level of plan) {
      const [r1, r2] = levelRequestLists(level)
      expect(r1.map((r) => [r.level, r.round, r.index])).toEqual([[level.concurrency, 1, 0], [level.concurrency, 1, 1]])
      expect(r2.map((r) => r.round)).toEqual([2, 2])
      expect(r2.map((r) => r.sampleId)).toEqual(['a', 'b'])
      r1.forEach((req, i) => expect(r2[i].body.equals(req.body)).toBe(true))
    }
  })

  test('the salt is the first line of the first message, unique per level', () => {
    const plan = buildPlan(samples, [5, 1], body, {rounds: 2, salts: ['[s5]', '[s1]']})
    const first = JSON.parse(plan[0].prepare()(1, 0).body.toString())
    expect(first.messages[0].content).toBe('[s5]\nsys')
    expect(first.messages[1].content).toBe('hello')
    expect(first.stream_options).toEqual({include_usage: true})
    const other = JSON.parse(plan[1].prepare()(1, 0).body.toString())
    expect(other.messages[0].content).toBe('[s1]\nsys')
    expect(JSON.parse(plan[0].prepare()(2, 1).body.toString()).max_tokens).toBe(7)
  })

  test('no salt with --cold-start none; salts are unique', () => {
    const plan = buildPlan(samples, [2], body, {rounds: 2, salts: [undefined]})
    expect(JSON.parse(plan[0].prepare()(1, 0).body.toString()).messages[0].content).toBe('sys')
    expect(new Set(Array.from({length: 50}, newSalt)).size).toBe(50)
  })

  test('every body is what buildRequestBody gives for the sample and the level salt, however often a level is prepared', () => {
    const completions = {api: 'completions' as const, model: 'm', stream: false, includeUsage: false, temperature: 0.2, extraBody: {ignore_eos: true}}
    const [level] = buildPlan(samples, [3], completions, {rounds: 2, salts: ['[x]']})
    const once = levelRequestLists(level)
    const again = levelRequestLists(level)
    samples.forEach((s, i) => {
      const want = buildRequestBody(s, {...completions, salt: '[x]'})
      for (const round of [0, 1]) {
        expect(once[round][i].body.equals(want)).toBe(true)
        expect(again[round][i].body.equals(want)).toBe(true)
      }
    })
  })

  test('repeats (--requests-per-level): ids <id>#k, their own salt suffix, distinct bodies', () => {
    const [level] = buildPlan(repeatSamples(samples, 5), [2], body, {rounds: 2, salts: ['[s]']})
    const [r1, r2] = levelRequestLists(level)
    expect(r1.map((r) => r.sampleId)).toEqual(['a', 'b', 'a#1', 'b#1', 'a#2'])
    const contents = r1.map((r) => JSON.parse(r.body.toString()).messages[0].content)
    expect(contents).toEqual(['[s]\nsys', '[s]\nworld', '[s] #1\nsys', '[s] #1\nworld', '[s] #2\nsys'])
    expect(JSON.parse(r1[3].body.toString()).max_tokens).toBe(7)
    r1.forEach((req, i) => expect(r2[i].body.equals(req.body)).toBe(true))
    // Without a level salt a repeat still differs from the original.
    const [plain] = buildPlan(repeatSamples(samples, 3), [2], body, {rounds: 1, salts: [undefined]})
    expect(JSON.parse(plain.prepare()(1, 2).body.toString()).messages[0].content).toBe('[dual-bench] #1\nsys')
  })

  test('ids, previews, input lengths and prompts come back exactly (lone surrogates, quotes, line separators)', () => {
    const odd: Sample[] = [
      {id: 'x\ud800', messages: [{role: 'user', content: 'a \udfff "q" \\ \u2028 😀  spaced\n\nout'}], inputLength: {original: 90, truncated: 30, unit: 'tokens'}},
      {id: '', messages: []},
    ]
    const [level] = buildPlan(new PlanSamples(odd), [1], body, {rounds: 1, salts: [undefined]})
    const [[first, second]] = levelRequestLists(level)
    expect(first.sampleId).toBe('x\ud800')
    expect(first.promptPreview).toBe(promptPreview(odd[0]))
    expect(first.inputLength).toEqual({original: 90, truncated: 30, unit: 'tokens'})
    expect(first.body.equals(buildRequestBody(odd[0], body))).toBe(true)
    expect(second).toMatchObject({sampleId: '', promptPreview: '', inputLength: undefined})
    expect(second.body.equals(buildRequestBody(odd[1], body))).toBe(true)
  })

  test('the plan keeps no reference to the samples it was given', () => {
    const mutable: Sample[] = [{id: 'm', messages: [{role: 'user', content: 'before'}]}]
    const [level] = buildPlan(mutable, [1], body, {rounds: 1, salts: [undefined]})
    mutable[0].messages[0].content = 'after'
    mutable[0].id = 'changed'
    const request = level.prepare()(1, 0)
    expect(JSON.parse(request.body.toString()).messages[0].content).toBe('before')
    expect(request.sampleId).toBe('m')
  })
})
