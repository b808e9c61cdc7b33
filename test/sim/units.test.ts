import {drawFaults} from '../../src/sim/faults.js'
import {resolveSimOptions, SIM_DEFAULTS} from '../../src/sim/options.js'
import {blockHashes, cacheableHashes, PrefixCache} from '../../src/sim/prefix-cache.js'
import {parseCompletionBody} from '../../src/sim/protocol.js'
import {createRng as mulberry32} from '../../src/prng.js'
import {Scheduler} from '../../src/sim/scheduler.js'
import {renderChatPrompt, tokenize} from '../../src/sim/tokenize.js'

describe('tokenize', () => {
  it('splits words and punctuation deterministically', () => {
    expect(tokenize('Hello, world! 42 times.')).toEqual(['Hello', ',', 'world', '!', '42', 'times', '.'])
    expect(tokenize('  ')).toEqual([])
  })

  it('renders chat messages with role markers so a shared first message is a shared prefix', () => {
    const a = tokenize(renderChatPrompt([{role: 'system', content: 'be brief'}, {role: 'user', content: 'one'}]))
    const b = tokenize(renderChatPrompt([{role: 'system', content: 'be brief'}, {role: 'user', content: 'two'}]))
    const common = a.findIndex((t, i) => t !== b[i])
    expect(common).toBeGreaterThan(5)
    expect(a.join(' ')).toContain('assistant')
  })
})

describe('blockHashes', () => {
  it('hashes only full blocks', () => {
    expect(blockHashes(tokenize('a b c d e f g'), 3)).toHaveLength(2)
  })

  it('chains: an equal block after a different prefix gets a different hash', () => {
    const x = blockHashes(['a', 'b', 'c', 'd'], 2)
    const y = blockHashes(['z', 'z', 'c', 'd'], 2)
    expect(x[1]).not.toEqual(y[1])
    expect(blockHashes(['a', 'b', 'c', 'd'], 2)).toEqual(x)
  })

  it('caps cacheable blocks so the last prompt token is always computed', () => {
    const h = blockHashes(tokenize('a b c d e f g h'), 4)
    expect(cacheableHashes(h, 8, 4)).toHaveLength(1)
    expect(cacheableHashes(h, 9, 4)).toHaveLength(2)
  })
})

describe('PrefixCache', () => {
  it('matches the leading run only', () => {
    const c = new PrefixCache(10)
    c.insert(['a', 'b'])
    expect(c.match(['a', 'b', 'c'])).toBe(2)
    expect(c.match(['x', 'b'])).toBe(0)
  })

  it('evicts the least recently used block, where a hit counts as a use', () => {
    const c = new PrefixCache(2)
    c.insert(['a'])
    c.insert(['b'])
    expect(c.match(['a'])).toBe(1) // a is now the most recent
    c.insert(['c'])
    expect(c.has('a')).toBe(true)
    expect(c.has('b')).toBe(false)
    expect(c.usage).toBe(1)
  })

  it('a zero-capacity cache never holds anything', () => {
    const c = new PrefixCache(0)
    c.insert(['a'])
    expect(c.size).toBe(0)
    expect(c.usage).toBe(0)
  })
})

describe('faults', () => {
  it('mulberry32 is reproducible per seed', () => {
    const a = mulberry32(7)
    const b = mulberry32(7)
    const c = mulberry32(8)
    const xs = Array.from({length: 5}, () => a())
    expect(Array.from({length: 5}, () => b())).toEqual(xs)
    expect(Array.from({length: 5}, () => c())).not.toEqual(xs)
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
  })

  it('draws five numbers per request whatever the outcome, and applies precedence', () => {
    let draws = 0
    const rand = () => (draws++, 0)
    const all = {failRate: 1, dropRate: 1, garbageRate: 1, slowRate: 1, errorEventRate: 1}
    expect(drawFaults(rand, all)).toEqual({fail: true, drop: false, garbage: false, slow: false, errorEvent: false})
    expect(draws).toBe(5)
    expect(drawFaults(rand, {...all, failRate: 0})).toEqual({fail: false, drop: true, garbage: false, slow: true, errorEvent: false})
    expect(drawFaults(rand, {...all, failRate: 0, dropRate: 0})).toEqual({fail: false, drop: false, garbage: true, slow: true, errorEvent: false})
    expect(drawFaults(rand, {failRate: 0, dropRate: 0, garbageRate: 0, slowRate: 0, errorEventRate: 1}).errorEvent).toBe(true)
    expect(draws).toBe(20)
  })
})

describe('Scheduler', () => {
  it('runs callbacks in due order and skips cancelled ones', async () => {
    const s = new Scheduler()
    const order: string[] = []
    const now = performance.now()
    s.at(now + 30, () => order.push('c'))
    s.at(now + 10, () => order.push('a'))
    const cancelled = s.at(now + 20, () => order.push('x'))
    s.at(now + 20, () => order.push('b'))
    cancelled.cancel()
    await new Promise((r) => setTimeout(r, 80))
    expect(order).toEqual(['a', 'b', 'c'])
    expect(s.pending).toBe(0)
  })
})

describe('resolveSimOptions', () => {
  it('fills defaults and ignores undefined fields', () => {
    expect(resolveSimOptions({itlMs: undefined, port: 0})).toEqual(SIM_DEFAULTS)
  })

  it('rejects impossible values naming the option', () => {
    expect(() => resolveSimOptions({failRate: 1.5})).toThrow(/failRate/)
    expect(() => resolveSimOptions({blockSize: 0})).toThrow(/blockSize/)
    expect(() => resolveSimOptions({usageStyle: 'bogus' as never})).toThrow(/usageStyle/)
  })
})

describe('parseCompletionBody', () => {
  it('prefers max_completion_tokens over max_tokens and reads include_usage', () => {
    const r = parseCompletionBody('chat', JSON.stringify({messages: [{role: 'user', content: 'hi'}], max_tokens: 5, max_completion_tokens: 7, stream: true, stream_options: {include_usage: true}}))
    expect(r.ok && r.request.maxTokens).toBe(7)
    expect(r.ok && r.request.includeUsage).toBe(true)
  })

  it('accepts content parts and token-id prompts', () => {
    const chat = parseCompletionBody('chat', JSON.stringify({messages: [{role: 'user', content: [{type: 'text', text: 'a b'}]}]}))
    expect(chat.ok).toBe(true)
    const ids = parseCompletionBody('completions', JSON.stringify({prompt: [1, 2, 3]}))
    expect(ids.ok && ids.request.promptTokens).toEqual(['1', '2', '3'])
  })

  it('rejects stream_options without stream, like vLLM', () => {
    const r = parseCompletionBody('chat', JSON.stringify({messages: [{role: 'user', content: 'x'}], stream_options: {include_usage: true}}))
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error.message).toMatch(/stream/)
  })
})
