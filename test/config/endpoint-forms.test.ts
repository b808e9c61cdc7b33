import {buildRunConfig} from '../../src/config/run-config.js'
import {resolveEndpoint} from '../../src/http/endpoint.js'
import {runFlags} from '../helpers/run-flags.js'

const run = (endpoint: string, api?: string) => buildRunConfig(runFlags({prompt: 'hi', dataset: undefined, endpoint, api}))

describe('run accepts the base-URL forms check accepts', () => {
  test.each([
    ['http://h:8000', undefined, 'http://h:8000/v1/chat/completions'],
    ['http://h:8000/v1', undefined, 'http://h:8000/v1/chat/completions'],
    ['http://h:8000/v1/', undefined, 'http://h:8000/v1/chat/completions'],
    ['http://h:8000/v1', 'completions', 'http://h:8000/v1/completions'],
    ['http://h:8000/v1/', 'responses', 'http://h:8000/v1/responses'],
    ['https://h/proxy/v1', undefined, 'https://h/proxy/v1/chat/completions'],
  ])('%s (--api %s) → %s, same as check', (given, api, expected) => {
    const config = run(given, api)
    expect(config.endpoint!.href).toBe(expected)
    expect(config.endpointGiven).toBe(given)
    expect(config.api).toBe(api ?? expected.split('/v1/')[1].replace('chat/completions', 'chat'))
    expect(resolveEndpoint(given, api as never).endpoint.href).toBe(expected)
  })

  test('full paths are kept as given, with no completion note', () => {
    const config = run('http://h:8000/v1/completions')
    expect(config.endpoint!.href).toBe('http://h:8000/v1/completions')
    expect(config.api).toBe('completions')
    expect(config.endpointGiven).toBeUndefined()
    expect(run('http://h:8000/generate', 'chat').endpoint!.pathname).toBe('/generate')
  })

  test('an unknown path without --api is still an input error naming --endpoint', () => {
    expect(() => run('http://h:8000/generate')).toThrow(/--endpoint http:\/\/h:8000\/generate does not end in/)
  })
})
