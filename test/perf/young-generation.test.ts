import {PerformanceObserver, constants} from 'node:perf_hooks'
import v8 from 'node:v8'
import {settleYoungGeneration} from '../../src/perf/young-generation.js'
import {createMeasuredTransport, type MeasuredTransport} from '../../src/http/measured-transport.js'
import {nowMs} from '../../src/record/clock.js'
import type {RequestRecord} from '../../src/record/record.js'
import {openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'

/** GC entries (kind, start) that started while `fn` ran (the observer's callback runs a turn later). */
async function collectionsDuring(fn: () => void): Promise<{kind: number; startTime: number}[]> {
  const seen: {kind: number; startTime: number}[] = []
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) seen.push({kind: (e as unknown as {detail: {kind: number}}).detail.kind, startTime: e.startTime})
  })
  observer.observe({entryTypes: ['gc']})
  const from = performance.now()
  fn()
  const to = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 50))
  observer.disconnect()
  return seen.filter((e) => e.startTime >= from && e.startTime <= to)
}

test('settling the young generation runs two young-generation collections and no full one', async () => {
  settleYoungGeneration() // the first call also turns V8's gc() on
  // Garbage and survivors in the young generation, so the collections have something to do.
  const kept: object[] = []
  for (let i = 0; i < 50_000; i++) (i % 10 === 0 ? kept : []).push({i})
  const seen = await collectionsDuring(settleYoungGeneration)
  expect(seen.filter((e) => e.kind === constants.NODE_PERFORMANCE_GC_MINOR).length).toBeGreaterThanOrEqual(2)
  expect(seen.filter((e) => e.kind === constants.NODE_PERFORMANCE_GC_MAJOR)).toEqual([])
  expect(kept).toHaveLength(5000)
})

describe('a young-generation collection taken when no stream waits for its first token', () => {
  const newSpaceFill = () => {
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!
    return space.space_used_size / (space.space_used_size + space.space_available_size)
  }
  /** Allocates garbage until the young generation is `fill` full (a collection meanwhile empties it: go on). */
  const fillYoungGeneration = (fill: number) => {
    let sink: unknown
    while (newSpaceFill() < fill) for (let i = 0; i < 100; i++) sink = new Array(64).fill(i)
    return sink
  }

  let server: ScriptedServer | undefined
  let transport: MeasuredTransport | undefined
  afterEach(async () => {
    await transport?.close()
    await server?.close()
    transport = server = undefined
  })

  /** One stream whose first token comes 80 ms after its headers; the minor collections seen, as nowMs times. */
  async function streamWithCollections(fill: number): Promise<{record: RequestRecord; minors: number[]}> {
    server = await startScriptedServer(() => ({body: openAiStream({firstTokenDelayMs: 80, tokens: 3, itlMs: 5})}))
    transport = createMeasuredTransport({endpoint: server.endpoint(), timeoutMs: 5000, maxSockets: 1, api: 'chat', stream: true})
    await transport.preconnect(1) // empties the young generation
    const minors: number[] = []
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as unknown as {detail: {kind: number}}).detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minors.push(performance.timeOrigin + e.startTime)
      }
    })
    observer.observe({entryTypes: ['gc']})
    if (fill > 0) fillYoungGeneration(fill)
    const record = await transport.send({level: 1, round: 1, index: 0, sampleId: 's0', promptPreview: 'p', body: Buffer.from('{}')}, {queuedAtMs: nowMs()})
    await new Promise((resolve) => setTimeout(resolve, 30))
    observer.disconnect()
    return {record, minors}
  }

  test('over half full: collected as the first token is read, not before', async () => {
    const {record, minors} = await streamWithCollections(0.7)
    expect(record.ok).toBe(true)
    const first = record.firstTokenAtMs!
    expect(minors.filter((at) => at >= first && at < first + 20)).toHaveLength(1)
    expect(minors.filter((at) => at >= record.sentAtMs && at < first)).toEqual([])
  })

  test('nearly empty: no collection', async () => {
    const {record, minors} = await streamWithCollections(0)
    expect(record.ok).toBe(true)
    expect(minors.filter((at) => at >= record.sentAtMs)).toEqual([])
  })
})
