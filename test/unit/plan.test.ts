import {buildPlan, newSalt} from '../../src/runner/plan.js'
import type {Sample} from '../../src/dataset/sample.js'

const samples: Sample[] = [
  {id: 'a', messages: [{role: 'system', content: 'sys'}, {role: 'user', content: 'hello'}]},
  {id: 'b', messages: [{role: 'user', content: 'world'}], maxTokens: 7},
]
const body = {api: 'chat' as const, model: 'm', stream: true, includeUsage: true}

describe('buildPlan', () => {
  test('levels in order, two rounds, same bytes in the same order', () => {
    const plan = buildPlan(samples, [5, 1], body, {rounds: 2, salts: ['[s5]', '[s1]']})
    expect(plan.map((l) => l.concurrency)).toEqual([5, 1])
    for (const level of plan) {
      const [r1, r2] = level.rounds
      expect(r1.map((r) => r.round)).toEqual([1, 1])
      expect(r2.map((r) => r.round)).toEqual([2, 2])
      expect(r2.map((r) => r.sampleId)).toEqual(['a', 'b'])
      r1.forEach((req, i) => expect(r2[i].body.equals(req.body)).toBe(true))
    }
  })

  test('the salt is the first line of the first message, unique per level', () => {
    const plan = buildPlan(samples, [5, 1], body, {rounds: 2, salts: ['[s5]', '[s1]']})
    const first = JSON.parse(plan[0].rounds[0][0].body.toString())
    expect(first.messages[0].content).toBe('[s5]\nsys')
    expect(first.messages[1].content).toBe('hello')
    expect(first.stream_options).toEqual({include_usage: true})
    const other = JSON.parse(plan[1].rounds[0][0].body.toString())
    expect(other.messages[0].content).toBe('[s1]\nsys')
    expect(JSON.parse(plan[0].rounds[0][1].body.toString()).max_tokens).toBe(7)
  })

  test('no salt with --cold-start none; salts are unique', () => {
    const plan = buildPlan(samples, [2], body, {rounds: 2, salts: [undefined]})
    expect(JSON.parse(plan[0].rounds[0][0].body.toString()).messages[0].content).toBe('sys')
    expect(new Set(Array.from({length: 50}, newSalt)).size).toBe(50)
  })
})
