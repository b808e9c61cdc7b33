import {buildRequestBody, maxTokensFieldOf} from '../../src/http/request-body.js'
import {httpError, isMaxTokensRejection, isStreamOptionsRejection, redirectAdvice} from '../../src/http/request-errors.js'
import type {RequestRecord} from '../../src/record/record.js'

const sample = {id: 's', messages: [{role: 'user' as const, content: 'hi'}], maxTokens: 64}
const base = {api: 'chat' as const, model: 'm', stream: true, includeUsage: true}
const json = (b: Buffer) => JSON.parse(b.toString('utf8'))

/** A failed record carrying the error a server answer turns into. */
function failed(status: number, body: unknown): RequestRecord {
  return {ok: false, error: httpError(status, 'Bad Request', JSON.stringify(body))} as unknown as RequestRecord
}

const OPENAI_MAX_TOKENS = {
  error: {message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: 'invalid_request_error', param: 'max_tokens'},
}

describe('max_completion_tokens', () => {
  test('an extra body that sets max_completion_tokens replaces max_tokens instead of adding to it', () => {
    const body = json(buildRequestBody(sample, {...base, extraBody: {max_completion_tokens: 500}}))
    expect(body).not.toHaveProperty('max_tokens')
    expect(body.max_completion_tokens).toBe(500)
    // --max-output-tokens too: the user's extra body wins, max_tokens still absent.
    const capped = json(buildRequestBody(sample, {...base, maxTokens: 8, extraBody: {max_completion_tokens: 500}}))
    expect(capped).not.toHaveProperty('max_tokens')
    expect(capped.max_completion_tokens).toBe(500)
  })

  test('maxTokensField puts the cap in max_completion_tokens; the default stays max_tokens; responses keeps max_output_tokens', () => {
    expect(json(buildRequestBody(sample, {...base, maxTokensField: 'max_completion_tokens'}))).toMatchObject({max_completion_tokens: 64})
    expect(json(buildRequestBody(sample, {...base, maxTokensField: 'max_completion_tokens'}))).not.toHaveProperty('max_tokens')
    expect(json(buildRequestBody(sample, base))).toMatchObject({max_tokens: 64})
    const responses = json(buildRequestBody(sample, {...base, api: 'responses', maxTokensField: 'max_completion_tokens'}))
    expect(responses).toMatchObject({max_output_tokens: 64})
    expect(responses).not.toHaveProperty('max_completion_tokens')
    expect(maxTokensFieldOf({extraBody: {max_completion_tokens: 1}})).toBe('max_completion_tokens')
    expect(maxTokensFieldOf({extraBody: {ignore_eos: true}})).toBe('max_tokens')
  })

  test("isMaxTokensRejection: OpenAI's unsupported-parameter 400, not any max_tokens complaint", () => {
    expect(isMaxTokensRejection(failed(400, OPENAI_MAX_TOKENS))).toBe(true)
    expect(isMaxTokensRejection(failed(400, {error: {message: 'max_tokens must be at least 1'}}))).toBe(false)
    expect(isMaxTokensRejection(failed(500, OPENAI_MAX_TOKENS))).toBe(false)
  })
})

describe('isStreamOptionsRejection names the field', () => {
  test('pydantic extra_forbidden about stream_options matches; the same wording about another field does not', () => {
    expect(isStreamOptionsRejection(failed(400, {detail: [{type: 'extra_forbidden', loc: ['body', 'stream_options'], msg: 'Extra inputs are not permitted'}]}))).toBe(true)
    expect(isStreamOptionsRejection(failed(422, {detail: [{type: 'extra_forbidden', loc: ['body', 'ignore_eos'], msg: 'Extra inputs are not permitted'}]}))).toBe(false)
    expect(isStreamOptionsRejection(failed(400, {error: {message: 'Extra inputs are not permitted'}}))).toBe(false)
    expect(isStreamOptionsRejection(failed(400, {error: {message: 'stream_options.include_usage is not supported'}}))).toBe(true)
  })
})

describe('redirects', () => {
  test('a 3xx record says it was not followed; the advice names the Location as the --endpoint to use', () => {
    expect(httpError(307, 'Temporary Redirect', '').message).toMatch(/307 Temporary Redirect.*redirect.*--endpoint/)
    const endpoint = new URL('http://h:8000/v1/chat/completions/')
    const error = httpError(307, 'Temporary Redirect', '', {location: '/v1/chat/completions', endpoint})
    expect(error.location).toBe('http://h:8000/v1/chat/completions')
    expect(error.message).toMatch(/redirect to http:\/\/h:8000\/v1\/chat\/completions: not followed/)
    expect(redirectAdvice(endpoint, 307, error.location)).toMatch(/--endpoint http:\/\/h:8000\/v1\/chat\/completions$/)
    expect(redirectAdvice(endpoint, 307, undefined)).toMatch(/--endpoint/)
  })
})
