import {createStreamState, type StreamEffect} from '../../src/http/openai-stream.js'
import {applyResponsesBody, applyResponsesStreamEvent} from '../../src/http/responses-stream.js'

/** A recorded-looking OpenAI Responses stream (gpt-4o-mini shape), as the `data:` payloads in order. */
function recordedStream(opts: {texts: string[]; reasoning?: string[]; terminal?: 'completed' | 'incomplete'; cached?: number}): string[] {
  const id = 'resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654'
  const item = 'msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654'
  let seq = 0
  const ev = (type: string, body: Record<string, unknown>) => JSON.stringify({type, sequence_number: seq++, ...body})
  const base = {id, object: 'response', created_at: 1741290958, model: 'gpt-4o-mini-2024-07-18', error: null, output: [], usage: null}
  const out = [ev('response.created', {response: {...base, status: 'in_progress'}}), ev('response.in_progress', {response: {...base, status: 'in_progress'}})]
  if (opts.reasoning) {
    out.push(ev('response.output_item.added', {output_index: 0, item: {id: 'rs_1', type: 'reasoning', summary: []}}))
    for (const r of opts.reasoning) out.push(ev('response.reasoning_summary_text.delta', {item_id: 'rs_1', output_index: 0, summary_index: 0, delta: r}))
  }
  out.push(ev('response.output_item.added', {output_index: 0, item: {id: item, type: 'message', status: 'in_progress', role: 'assistant', content: []}}))
  out.push(ev('response.content_part.added', {item_id: item, output_index: 0, content_index: 0, part: {type: 'output_text', text: '', annotations: []}}))
  for (const t of opts.texts) out.push(ev('response.output_text.delta', {item_id: item, output_index: 0, content_index: 0, delta: t, logprobs: []}))
  const text = opts.texts.join('')
  out.push(ev('response.output_text.done', {item_id: item, output_index: 0, content_index: 0, text, logprobs: []}))
  out.push(ev('response.content_part.done', {item_id: item, output_index: 0, content_index: 0, part: {type: 'output_text', text, annotations: []}}))
  out.push(ev('response.output_item.done', {output_index: 0, item: {id: item, type: 'message', status: 'completed', role: 'assistant', content: [{type: 'output_text', text, annotations: []}]}}))
  const terminal = opts.terminal ?? 'completed'
  out.push(
    ev(`response.${terminal}`, {
      response: {
        ...base,
        status: terminal,
        incomplete_details: terminal === 'incomplete' ? {reason: 'max_output_tokens'} : null,
        output: [{id: item, type: 'message', status: 'completed', role: 'assistant', content: [{type: 'output_text', text, annotations: []}]}],
        usage: {input_tokens: 37, input_tokens_details: {cached_tokens: opts.cached ?? 0}, output_tokens: 11, output_tokens_details: {reasoning_tokens: 0}, total_tokens: 48},
      },
    }),
  )
  return out
}

function feed(events: string[]) {
  const state = createStreamState()
  const effects: StreamEffect[] = events.map((d) => applyResponsesStreamEvent(state, d))
  return {state, effects}
}

describe('applyResponsesStreamEvent', () => {
  test('a full stream: one content effect per text delta, done at response.completed, usage and cached tokens read', () => {
    const {state, effects} = feed(recordedStream({texts: ['Hi', ' there', '!'], cached: 32}))
    expect(effects.filter((e) => e === 'content')).toHaveLength(3)
    expect(effects.at(-1)).toBe('done')
    expect(effects.slice(0, -1)).not.toContain('done')
    // Lifecycle events (created, item added, part done, …) carry no new text.
    expect(effects.slice(0, 4)).toEqual(['none', 'none', 'none', 'none'])
    expect(state).toMatchObject({
      contentChunks: 3,
      outputPreview: 'Hi there!',
      done: true,
      finishReason: 'stop',
      outputTokens: 11,
      inputTokens: 37,
      cachedTokens: 32,
      cachedTokensSource: 'usage.input_tokens_details.cached_tokens',
    })
    expect(state.error).toBeUndefined()
  })

  test('response.incomplete for max_output_tokens is done, with finish reason length', () => {
    const {state, effects} = feed(recordedStream({texts: ['a', 'b'], terminal: 'incomplete'}))
    expect(effects.at(-1)).toBe('done')
    expect(state.finishReason).toBe('length')
    expect(state.outputTokens).toBe(11)
  })

  test('reasoning summary and reasoning text deltas count as content (TTFT), before the answer', () => {
    const {state, effects} = feed(recordedStream({texts: ['42'], reasoning: ['Let me ', 'think']}))
    const firstContent = effects.indexOf('content')
    expect(firstContent).toBeGreaterThan(-1)
    expect(state.contentChunks).toBe(3)
    expect(state.outputPreview).toBe('Let me think42')
    const s2 = createStreamState()
    expect(applyResponsesStreamEvent(s2, JSON.stringify({type: 'response.reasoning_text.delta', item_id: 'rs', output_index: 0, content_index: 0, delta: 'hmm', sequence_number: 3}))).toBe('content')
    expect(s2.outputPreview).toBe('hmm')
  })

  test('function-call argument deltas count as content (TTFT of a response that only calls a tool)', () => {
    const state = createStreamState()
    const ev = (type: string, body: Record<string, unknown>) => JSON.stringify({type, ...body})
    const effects = [
      ev('response.output_item.added', {output_index: 0, item: {id: 'fc_1', type: 'function_call', name: 'get_weather', arguments: ''}}),
      ev('response.function_call_arguments.delta', {item_id: 'fc_1', output_index: 0, delta: '{"city":'}),
      ev('response.function_call_arguments.delta', {item_id: 'fc_1', output_index: 0, delta: '"Paris"}'}),
      ev('response.function_call_arguments.done', {item_id: 'fc_1', output_index: 0, arguments: '{"city":"Paris"}'}),
    ].map((d) => applyResponsesStreamEvent(state, d))
    expect(effects).toEqual(['none', 'content', 'content', 'none'])
    expect(state.outputPreview).toBe('{"city":"Paris"}')
  })

  test('an empty delta is not a token', () => {
    const state = createStreamState()
    expect(applyResponsesStreamEvent(state, JSON.stringify({type: 'response.output_text.delta', delta: '', sequence_number: 1}))).toBe('none')
    expect(state.contentChunks).toBe(0)
  })

  test('response.failed is an error event carrying the response error code and message', () => {
    const state = createStreamState()
    applyResponsesStreamEvent(state, JSON.stringify({type: 'response.output_text.delta', delta: 'par', sequence_number: 4}))
    const effect = applyResponsesStreamEvent(
      state,
      JSON.stringify({type: 'response.failed', sequence_number: 5, response: {id: 'resp_1', status: 'failed', error: {code: 'server_error', message: 'The model crashed.'}, usage: null}}),
    )
    expect(effect).toBe('error')
    expect(state.error).toEqual({category: 'server_error_event', message: 'server_error: The model crashed.'})
    expect(state.outputPreview).toBe('par')
  })

  test('a top-level error event is an error with its message', () => {
    const state = createStreamState()
    expect(applyResponsesStreamEvent(state, JSON.stringify({type: 'error', code: 'ERR_SOMETHING', message: 'Something went wrong', param: null, sequence_number: 1}))).toBe('error')
    expect(state.error).toEqual({category: 'server_error_event', message: 'Something went wrong'})
  })

  test('a chat-style {"error": …} object from a proxy is an error too', () => {
    const state = createStreamState()
    expect(applyResponsesStreamEvent(state, JSON.stringify({error: {message: 'upstream timed out'}}))).toBe('error')
    expect(state.error?.message).toBe('upstream timed out')
  })

  test('non-JSON data is malformed; a stray [DONE] ends the stream; blank data is ignored', () => {
    const bad = createStreamState()
    expect(applyResponsesStreamEvent(bad, '{"type":"response.output_text.delta","delta":"x"')).toBe('error')
    expect(bad.error?.category).toBe('malformed_sse')
    const arr = createStreamState()
    expect(applyResponsesStreamEvent(arr, '[1,2]')).toBe('error')
    expect(arr.error?.category).toBe('malformed_sse')
    const done = createStreamState()
    expect(applyResponsesStreamEvent(done, '[DONE]')).toBe('done')
    expect(done.done).toBe(true)
    expect(applyResponsesStreamEvent(createStreamState(), '')).toBe('none')
  })

  test('unknown event types are ignored', () => {
    const state = createStreamState()
    expect(applyResponsesStreamEvent(state, JSON.stringify({type: 'response.web_search_call.searching', sequence_number: 2}))).toBe('none')
    expect(state).toEqual(createStreamState())
  })

  test('the preview is capped at 200 characters while every delta is counted', () => {
    const {state} = feed(recordedStream({texts: Array.from({length: 50}, () => 'abcdefghij')}))
    expect(state.contentChunks).toBe(50)
    expect(state.outputPreview).toHaveLength(200)
  })
})

describe('applyResponsesBody', () => {
  const body = (over: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      error: null,
      incomplete_details: null,
      output: [
        {id: 'rs_1', type: 'reasoning', summary: [{type: 'summary_text', text: 'Thinking. '}]},
        {id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{type: 'output_text', text: 'Hello!', annotations: []}]},
      ],
      usage: {input_tokens: 12, input_tokens_details: {cached_tokens: 0}, output_tokens: 5, output_tokens_details: {reasoning_tokens: 2}, total_tokens: 17},
      ...over,
    })

  test('reads output text (reasoning first), usage, cached tokens and status', () => {
    const state = createStreamState()
    expect(applyResponsesBody(state, body())).toBe('content')
    expect(state).toMatchObject({outputPreview: 'Thinking. Hello!', outputTokens: 5, inputTokens: 12, cachedTokens: 0, finishReason: 'stop'})
    expect(state.error).toBeUndefined()
  })

  test('a failed response or an error body is an error; bad JSON is malformed', () => {
    const failed = createStreamState()
    expect(applyResponsesBody(failed, body({status: 'failed', output: [], error: {code: 'rate_limit_exceeded', message: 'Slow down'}}))).toBe('error')
    expect(failed.error).toEqual({category: 'server_error_event', message: 'rate_limit_exceeded: Slow down'})
    const err = createStreamState()
    expect(applyResponsesBody(err, JSON.stringify({error: {message: 'Invalid input', type: 'invalid_request_error'}}))).toBe('error')
    expect(err.error?.message).toBe('Invalid input')
    const bad = createStreamState()
    expect(applyResponsesBody(bad, '<html>')).toBe('error')
    expect(bad.error?.category).toBe('malformed_sse')
  })

  test('an incomplete response without text is none, finish reason length', () => {
    const state = createStreamState()
    expect(applyResponsesBody(state, body({status: 'incomplete', incomplete_details: {reason: 'max_output_tokens'}, output: []}))).toBe('none')
    expect(state.finishReason).toBe('length')
  })
})
