import {createSseParser} from '../../src/http/sse.js'
import {applyResponseBody, applyStreamEvent, createStreamState, type StreamState} from '../../src/http/openai-stream.js'

function parseAll(pieces: (string | Buffer)[], end = true): string[] {
  const out: string[] = []
  const p = createSseParser((bytes, start, end) => out.push(bytes.toString('utf8', start, end)))
  for (const piece of pieces) p.feed(typeof piece === 'string' ? Buffer.from(piece) : piece)
  if (end) p.end()
  return out
}

function run(datas: string[]): {state: StreamState; effects: string[]} {
  const state = createStreamState()
  const effects = datas.map((d) => applyStreamEvent(state, d))
  return {state, effects}
}

describe('sse layer', () => {
  const stream = 'data: {"a":1}\n\n: ping\n\ndata: {"b":"é"}\r\n\r\ndata: [DONE]\n\n'

  test('events, comments and CRLF, fed whole', () => {
    expect(parseAll([stream])).toEqual(['{"a":1}', '{"b":"é"}', '[DONE]'])
  })

  test('the same bytes cut at every possible offset, including inside the 2-byte é', () => {
    const bytes = Buffer.from(stream, 'utf8')
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseAll([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['{"a":1}', '{"b":"é"}', '[DONE]'])
    }
  })

  test('a byte order mark before the first line is dropped, even when it is cut across reads', () => {
    const bytes = Buffer.from('\uFEFFdata: {"a":1}\n\n', 'utf8')
    expect(parseAll([bytes])).toEqual(['{"a":1}'])
    expect(parseAll([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual(['{"a":1}'])
  })

  test('a 4-byte emoji split one byte at a time', () => {
    const bytes = Buffer.from('data: {"c":"🚀"}\n\n', 'utf8')
    const pieces = Array.from(bytes, (b) => Buffer.from([b]))
    expect(parseAll(pieces)).toEqual(['{"c":"🚀"}'])
  })

  test('end() dispatches a final event without its blank line, and nothing when there is none', () => {
    expect(parseAll(['data: {"a":1}\n\ndata: [DONE]\n'])).toEqual(['{"a":1}', '[DONE]'])
    expect(parseAll(['data: {"a":1}\n\ndata: [DONE]'])).toEqual(['{"a":1}', '[DONE]'])
    expect(parseAll(['data: {"a":1}\n\ndata: [DONE]\n'], false)).toEqual(['{"a":1}'])
    expect(parseAll(['data: {"a":1}\n\n'])).toEqual(['{"a":1}'])
  })
})

describe('openai-stream reducer', () => {
  const chunk = (delta: object, finish: string | null = null, extra: object = {}) => JSON.stringify({choices: [{index: 0, delta, finish_reason: finish}], ...extra})

  test('content chunks count; role-only and empty chunks do not; [DONE] ends', () => {
    const {state, effects} = run([chunk({role: 'assistant', content: ''}), chunk({content: 'Hel'}), chunk({content: 'lo'}), chunk({}, 'stop'), '[DONE]'])
    expect(effects).toEqual(['none', 'content', 'content', 'none', 'done'])
    expect(state.contentChunks).toBe(2)
    expect(state.outputPreview).toBe('Hello')
    expect(state.finishReason).toBe('stop')
    expect(state.done).toBe(true)
    expect(state.outputTokens).toBeUndefined()
  })

  test('reasoning_content and reasoning count as content (they are generated tokens, and TTFT)', () => {
    const {state, effects} = run([chunk({reasoning_content: 'think'}), chunk({reasoning: 'more'}), chunk({content: 'ans'})])
    expect(effects).toEqual(['content', 'content', 'content'])
    expect(state.contentChunks).toBe(3)
  })

  test('tool-call deltas (vLLM/OpenAI shape) and refusals count as content; their text goes to the preview', () => {
    const call = (fn: Record<string, string>, id?: string) => JSON.stringify({choices: [{index: 0, delta: {tool_calls: [{index: 0, ...(id ? {id, type: 'function'} : {}), function: fn}]}}]})
    const {state, effects} = run([
      JSON.stringify({choices: [{index: 0, delta: {role: 'assistant', content: null}}]}),
      call({name: 'get_weather', arguments: ''}, 'call_1'),
      call({arguments: '{"city": '}),
      call({arguments: '"Paris"}'}),
      JSON.stringify({choices: [{index: 0, delta: {}, finish_reason: 'tool_calls'}]}),
      JSON.stringify({choices: [{index: 0, delta: {refusal: 'I cannot'}}]}),
    ])
    expect(effects).toEqual(['none', 'content', 'content', 'content', 'none', 'content'])
    expect(state.contentChunks).toBe(4)
    expect(state.outputPreview).toBe('get_weather{"city": "Paris"}I cannot')
    expect(state.finishReason).toBe('tool_calls')
  })

  test('a tool call without a name or arguments yet (id only) is not a token; the legacy function_call is', () => {
    const {effects} = run([
      JSON.stringify({choices: [{delta: {tool_calls: [{index: 0, id: 'call_1', type: 'function', function: {}}]}}]}),
      JSON.stringify({choices: [{delta: {function_call: {name: 'lookup', arguments: '{}'}}}]}),
    ])
    expect(effects).toEqual(['none', 'content'])
  })

  test('completions text chunks', () => {
    const {state, effects} = run([JSON.stringify({choices: [{text: 'a', finish_reason: null}]}), JSON.stringify({choices: [{text: '', finish_reason: 'length'}]})])
    expect(effects).toEqual(['content', 'none'])
    expect(state.finishReason).toBe('length')
  })

  test('OpenAI/vLLM usage chunk with cached tokens; null usage in content chunks is ignored', () => {
    const {state} = run([
      chunk({content: 'x'}, null, {usage: null}),
      JSON.stringify({choices: [], usage: {prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: {cached_tokens: 96}}}),
    ])
    expect(state).toMatchObject({outputTokens: 7, inputTokens: 100, cachedTokens: 96, cachedTokensSource: 'usage.prompt_tokens_details.cached_tokens'})
  })

  test('llama.cpp: usage + timings.cache_n in the final chunk that also has content and finish_reason', () => {
    const {state, effects} = run([
      chunk({content: 'a'}),
      chunk({content: 'b'}, 'stop', {usage: {prompt_tokens: 50, completion_tokens: 2}, timings: {cache_n: 40, prompt_n: 10, predicted_n: 2}}),
    ])
    expect(effects).toEqual(['content', 'content'])
    expect(state).toMatchObject({contentChunks: 2, finishReason: 'stop', outputTokens: 2, inputTokens: 50, cachedTokens: 40, cachedTokensSource: 'timings.cache_n'})
  })

  test('older llama.cpp: cached = usage.prompt_tokens − timings.prompt_n', () => {
    const {state} = run([chunk({}, 'stop', {usage: {prompt_tokens: 50, completion_tokens: 2}, timings: {prompt_n: 12, predicted_n: 2}})])
    expect(state).toMatchObject({cachedTokens: 38, cachedTokensSource: 'usage.prompt_tokens-timings.prompt_n'})
  })

  test('SGLang meta_info.cached_tokens', () => {
    const {state} = run([chunk({content: 'a'}, 'stop', {usage: {prompt_tokens: 30, completion_tokens: 1}, meta_info: {cached_tokens: 24}})])
    expect(state).toMatchObject({cachedTokens: 24, cachedTokensSource: 'meta_info.cached_tokens', outputTokens: 1})
  })

  test('error objects in the stream (wrapped and bare vLLM ErrorResponse)', () => {
    const a = run([JSON.stringify({error: {message: 'KV cache exhausted', code: 500}})])
    expect(a.effects).toEqual(['error'])
    expect(a.state.error).toEqual({category: 'server_error_event', message: 'KV cache exhausted'})
    const b = run([JSON.stringify({object: 'error', message: 'bad things', type: 'InternalServerError'})])
    expect(b.state.error?.message).toBe('bad things')
  })

  test('malformed JSON and non-object data are malformed_sse; blank data is ignored', () => {
    expect(run(['{"choices": [']).state.error?.category).toBe('malformed_sse')
    expect(run(['hello']).state.error?.category).toBe('malformed_sse')
    expect(run(['[1,2]']).state.error?.category).toBe('malformed_sse')
    expect(run(['']).effects).toEqual(['none'])
  })

  test('preview is capped at 200 characters', () => {
    const {state} = run(Array.from({length: 50}, () => chunk({content: 'abcdefghij'})))
    expect(state.outputPreview).toHaveLength(200)
    expect(state.contentChunks).toBe(50)
  })

  test('non-streaming body: message content and usage', () => {
    const state = createStreamState()
    applyResponseBody(state, JSON.stringify({choices: [{message: {role: 'assistant', content: 'hi there'}, finish_reason: 'stop'}], usage: {prompt_tokens: 5, completion_tokens: 2}}))
    expect(state).toMatchObject({outputPreview: 'hi there', finishReason: 'stop', outputTokens: 2, inputTokens: 5})
  })
})
