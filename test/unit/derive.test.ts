import {chunkGapsMs, itlMs, latencyMs, ttftMs} from '../../src/record/derive.js'
import type {RequestRecord} from '../../src/record/record.js'

function record(over: Partial<RequestRecord>): RequestRecord {
  return {level: 1, round: 1, index: 0, sampleId: 's', promptPreview: '', queuedAtMs: 0, sentAtMs: 1000, endedAtMs: 1500, ok: true, ...over}
}

describe('derive', () => {
  test('TTFT, latency and ITL from raw timestamps', () => {
    const r = record({firstTokenAtMs: 1100, endedAtMs: 1500, outputTokens: 5})
    expect(ttftMs(r)).toBe(100)
    expect(latencyMs(r)).toBe(500)
    expect(itlMs(r)).toBe(100)
  })
  test('ITL is undefined below two tokens, everything undefined for a failure', () => {
    expect(itlMs(record({firstTokenAtMs: 1100, outputTokens: 1}))).toBeUndefined()
    const failed = record({ok: false, firstTokenAtMs: 1100, outputTokens: 5})
    expect(ttftMs(failed)).toBeUndefined()
    expect(latencyMs(failed)).toBeUndefined()
    expect(itlMs(failed)).toBeUndefined()
  })
  test('chunk gaps are consecutive differences', () => {
    expect(chunkGapsMs(record({chunkOffsetsMs: [10, 15, 35]}))).toEqual([5, 20])
  })
})
