import {buildPlan, levelRequestLists, repeatSamples} from '../../src/runner/plan.js'
import type {Sample} from '../../src/dataset/sample.js'

const body = {api: 'chat' as const, model: 'm', stream: true, includeUsage: true}

describe('repeatSamples labels', () => {
  test('a generated repeat label never takes a real id (ids "a" and "a#1", 4 requests)', () => {
    const samples: Sample[] = [
      {id: 'a', messages: [{role: 'user', content: 'A'}]},
      {id: 'a#1', messages: [{role: 'user', content: 'explicit a#1'}]},
    ]
    const [level] = buildPlan(repeatSamples(samples, 4), [1], body, {rounds: 2, salts: ['[s]']})
    const [r1, r2] = levelRequestLists(level)
    const ids = r1.map((r) => r.sampleId)
    expect(new Set(ids).size).toBe(4)
    expect(ids).toEqual(['a', 'a#1', 'a#2', 'a#1#1'])
    // The copy of "a" still carries a's prompt, and round 2 matches round 1 label for label.
    expect(JSON.parse(r1[2].body.toString()).messages[0].content).toBe('[s] #1\nA')
    expect(r2.map((r) => r.sampleId)).toEqual(ids)
  })

  test('a sample keeps counting past a taken suffix on later repeats', () => {
    const samples: Sample[] = [
      {id: 'x', messages: [{role: 'user', content: 'X'}]},
      {id: 'x#2', messages: [{role: 'user', content: 'Y'}]},
    ]
    const ids = repeatSamples(samples, 6).map((e) => e.sample.id)
    expect(ids).toEqual(['x', 'x#2', 'x#1', 'x#2#1', 'x#3', 'x#2#2'])
    expect(new Set(ids).size).toBe(ids.length)
  })

  test('without collisions the labels are <id>#k as before', () => {
    const samples: Sample[] = [
      {id: 'a', messages: [{role: 'user', content: 'A'}]},
      {id: 'b', messages: [{role: 'user', content: 'B'}]},
    ]
    expect(repeatSamples(samples, 5).map((e) => [e.sample.id, e.repeat])).toEqual([
      ['a', 0],
      ['b', 0],
      ['a#1', 1],
      ['b#1', 1],
      ['a#2', 2],
    ])
  })
})
