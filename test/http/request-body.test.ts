import {buildRequestBody, promptPreview, type RequestBodyOptions} from '../../src/http/request-body.js'
import type {Sample} from '../../src/dataset/sample.js'

const sample: Sample = {
  id: 's1',
  messages: [
    {role: 'system', content: 'You are terse.'},
    {role: 'user', content: 'Summarise:\n  the   long document'},
  ],
  maxTokens: 64,
}
const chat: RequestBodyOptions = {api: 'chat', model: 'm', stream: true, includeUsage: true}
const parse = (b: Buffer) => JSON.parse(b.toString('utf8'))

describe('buildRequestBody', () => {
  test('chat body: messages, per-sample max_tokens, stream_options only with stream+includeUsage', () => {
    const body = parse(buildRequestBody(sample, chat))
    expect(body).toEqual({
      model: 'm',
      messages: sample.messages,
      max_tokens: 64,
      stream: true,
      stream_options: {include_usage: true},
    })
    expect(parse(buildRequestBody(sample, {...chat, includeUsage: false})).stream_options).toBeUndefined()
    const nonStream = parse(buildRequestBody(sample, {...chat, stream: false}))
    expect(nonStream.stream).toBe(false)
    expect(nonStream.stream_options).toBeUndefined()
  })

  test('opts.maxTokens overrides the sample; sampling params only when given', () => {
    const body = parse(buildRequestBody(sample, {...chat, maxTokens: 8, temperature: 0, topP: 0.9}))
    expect(body.max_tokens).toBe(8)
    expect(body.temperature).toBe(0)
    expect(body.top_p).toBe(0.9)
    const bare = parse(buildRequestBody({id: 'x', messages: [{role: 'user', content: 'hi'}]}, chat))
    expect('max_tokens' in bare).toBe(false)
    expect('temperature' in bare).toBe(false)
  })

  test('salt is its own first line of the FIRST message only, and the sample is not mutated', () => {
    const body = parse(buildRequestBody(sample, {...chat, salt: '[run 3f9a2c]'}))
    expect(body.messages[0].content).toBe('[run 3f9a2c]\nYou are terse.')
    expect(body.messages[1].content).toBe(sample.messages[1].content)
    expect(sample.messages[0].content).toBe('You are terse.')
  })

  test('completions body: messages joined with a blank line, salt first', () => {
    const body = parse(buildRequestBody(sample, {...chat, api: 'completions', salt: '[run a1]'}))
    expect(body.messages).toBeUndefined()
    expect(body.prompt).toBe('[run a1]\nYou are terse.\n\nSummarise:\n  the   long document')
    expect(parse(buildRequestBody(sample, {...chat, api: 'completions'})).prompt).toBe('You are terse.\n\nSummarise:\n  the   long document')
  })

  test('same sample + salt → identical bytes; a different salt → different bytes', () => {
    const a = buildRequestBody(sample, {...chat, salt: '[run 1]', extraBody: {ignore_eos: true}})
    const b = buildRequestBody(structuredClone(sample), {...chat, salt: '[run 1]', extraBody: {ignore_eos: true}})
    expect(a.equals(b)).toBe(true)
    expect(a.equals(buildRequestBody(sample, {...chat, salt: '[run 2]', extraBody: {ignore_eos: true}}))).toBe(false)
  })

  test('extraBody adds and overrides sampling fields but cannot replace the measured ones', () => {
    const body = parse(
      buildRequestBody(sample, {...chat, temperature: 1, extraBody: {ignore_eos: true, temperature: 0.2, stream: false, messages: [], model: 'other', stream_options: {}}}),
    )
    expect(body.ignore_eos).toBe(true)
    expect(body.temperature).toBe(0.2)
    expect(body.stream).toBe(true)
    expect(body.model).toBe('m')
    expect(body.messages).toHaveLength(2)
    expect(body.stream_options).toEqual({include_usage: true})
  })

  test('non-ASCII content survives as UTF-8', () => {
    const s: Sample = {id: 'u', messages: [{role: 'user', content: '缓存命中 🚀'}]}
    expect(parse(buildRequestBody(s, chat)).messages[0].content).toBe('缓存命中 🚀')
  })
})

describe('promptPreview', () => {
  test('folds whitespace, excludes any salt, cuts at n', () => {
    expect(promptPreview(sample)).toBe('You are terse. Summarise: the long document')
    expect(promptPreview(sample, 8)).toBe('You are ')
  })
  test('never cuts a surrogate pair in half', () => {
    const s: Sample = {id: 'e', messages: [{role: 'user', content: 'ab🚀cd'}]}
    expect(promptPreview(s, 3)).toBe('ab')
    expect(promptPreview(s, 4)).toBe('ab🚀')
  })
})
