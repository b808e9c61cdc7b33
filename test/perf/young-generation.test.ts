import {PerformanceObserver, constants} from 'node:perf_hooks'
import {settleYoungGeneration} from '../../src/perf/young-generation.js'

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
