import {resolveRunFlags} from '../../src/run/resolve-flags.js'
import {MeasuredLines, type ResumeState} from '../../src/run/resume.js'

const resume = (flags: Record<string, unknown>): ResumeState => ({flags, runJson: {}, completed: new MeasuredLines('requests.jsonl'), session: 2})

describe('resolveRunFlags', () => {
  test('.env MODEL_URL / MODEL_NAME fill a missing --endpoint / --model, and say so', () => {
    const r = resolveRunFlags({dataset: 'd'}, ['dataset'], {endpoint: 'http://h/v1/chat/completions', model: 'm'})
    expect(r.flags).toMatchObject({endpoint: 'http://h/v1/chat/completions', model: 'm'})
    expect(r.notes).toEqual(['Using --endpoint http://h/v1/chat/completions from MODEL_URL in .env'])
    expect(resolveRunFlags({endpoint: 'http://x/v1/completions'}, ['endpoint'], {endpoint: 'http://h/v1/chat/completions'}).flags.endpoint).toBe('http://x/v1/completions')
  })

  test('--resume: stored flags win; a typed flag must agree; secrets come from this command line', () => {
    const stored = {dataset: 'd', concurrency: ['2'], timeout: 300}
    const given = {resume: 'out', concurrency: ['2'], timeout: 300, 'api-key': 'k', header: ['X:1'], progress: false, 'drain-timeout': 30}
    const r = resolveRunFlags(given, ['resume', 'concurrency', 'api-key', 'header'], {endpoint: 'http://ignored/v1/chat/completions'}, resume(stored))
    expect(r.flags).toMatchObject({dataset: 'd', concurrency: ['2'], 'api-key': 'k', header: ['X:1'], resume: 'out'})
    expect(r.flags.endpoint).toBeUndefined() // .env does not change a resumed run
    // timeout has a default (300) but was not typed: it is not compared.
    expect(() => resolveRunFlags({...given, timeout: 5}, ['resume'], {}, resume(stored))).not.toThrow()
    expect(() => resolveRunFlags({...given, concurrency: ['3']}, ['resume', 'concurrency'], {}, resume(stored))).toThrow(/differs .* --concurrency/)
  })
})
