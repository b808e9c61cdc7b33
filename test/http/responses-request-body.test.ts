import type {Sample} from '../../src/dataset/sample.js'
import {buildRequestBody, type RequestBodyOptions} from '../../src/http/request-body.js'

const sample: Sample = {
  id: 's1',
  messages: [
    {role: 'system', content: 'You are terse.'},
    {role: 'user', content: 'Summarise the document.'},
  ],
  maxTokens: 64,
}
const responses: RequestBodyOptions = {api: 'responses', model: 'm', stream: true, includeUsage: true}
const parse = (b: Buffer) => JSON.parse(b.toString('utf8'))

describe('buildRequestBody for the Responses API', () => {
  test('sends the messages as input, max_output_tokens, and never stream_options', () => {
    const body = parse(buildRequestBody(sample, responses))
    expect(body).toEqual({model: 'm', input: sample.messages, max_output_tokens: 64, stream: true})
    expect(parse(buildRequestBody(sample, {...responses, stream: false}))).toEqual({model: 'm', input: sample.messages, max_output_tokens: 64, stream: false})
  })

  test('the salt goes on its own line in the first input message, and the bytes repeat exactly', () => {
    const opts = {...responses, salt: '[run 3f9a2c]', maxTokens: 8, temperature: 0, topP: 0.5}
    const a = buildRequestBody(sample, opts)
    const body = parse(a)
    expect(body.input[0]).toEqual({role: 'system', content: '[run 3f9a2c]\nYou are terse.'})
    expect(body.input[1]).toEqual(sample.messages[1])
    expect(body).toMatchObject({max_output_tokens: 8, temperature: 0, top_p: 0.5})
    expect('max_tokens' in body).toBe(false)
    expect(buildRequestBody(sample, opts).equals(a)).toBe(true)
  })

  test('extraBody adds fields but cannot replace input, model or stream', () => {
    const body = parse(buildRequestBody(sample, {...responses, extraBody: {input: 'hijack', model: 'x', stream: false, reasoning: {effort: 'low'}, max_output_tokens: 4}}))
    expect(body.input).toEqual(sample.messages)
    expect(body.model).toBe('m')
    expect(body.stream).toBe(true)
    expect(body.reasoning).toEqual({effort: 'low'})
    expect(body.max_output_tokens).toBe(4)
  })

  test('chat and completions bodies are unchanged (no input field)', () => {
    const chat = parse(buildRequestBody(sample, {...responses, api: 'chat'}))
    expect(chat.messages).toEqual(sample.messages)
    expect(chat.max_tokens).toBe(64)
    expect(chat.stream_options).toEqual({include_usage: true})
    expect('input' in chat).toBe(false)
    const completions = parse(buildRequestBody(sample, {...responses, api: 'completions', extraBody: {input: 'x'}}))
    expect(typeof completions.prompt).toBe('string')
    expect('input' in completions).toBe(false)
  })
})
