import {describe, expect, test} from '@jest/globals'

import {metricDelta, ratioDelta, readingValue} from '../../src/metrics/delta.js'
import type {Reading} from '../../src/metrics/selector.js'

const counter = (value: number): Reading => ({type: 'counter', value, series: 1, family: 'c_total'})
const gauge = (value: number): Reading => ({type: 'gauge', value, series: 1, family: 'g'})
const untyped = (value: number): Reading => ({type: 'untyped', value, series: 1, family: 'u'})
const histogram = (sum: number, count: number): Reading => ({type: 'histogram', sum, count, series: 1, family: 'h'})

describe('metricDelta', () => {
  test('counter: after - before', () => {
    expect(metricDelta(counter(100), counter(164))).toEqual({value: 64, reset: false})
    expect(metricDelta(counter(100), counter(100))).toEqual({value: 0, reset: false})
  })

  test('counter going down is a reset: null, flagged, never negative', () => {
    expect(metricDelta(counter(5000), counter(12))).toMatchObject({value: null, reset: true})
  })

  test('gauge and untyped: the value after', () => {
    expect(metricDelta(gauge(0.3), gauge(0.7))).toEqual({value: 0.7, reset: false})
    expect(metricDelta(undefined, gauge(0.7))).toEqual({value: 0.7, reset: false})
    expect(metricDelta(untyped(0.1), untyped(0.85))).toEqual({value: 0.85, reset: false})
  })

  test('histogram: mean of the new observations, null when there are none', () => {
    expect(metricDelta(histogram(6, 15), histogram(7.5, 18))).toEqual({value: 0.5, reset: false})
    expect(metricDelta(histogram(6, 15), histogram(6, 15))).toMatchObject({value: null, reset: false, reason: 'no new observations'})
    expect(metricDelta(histogram(6, 15), histogram(0.2, 1))).toMatchObject({value: null, reset: true})
  })

  test('missing readings and type changes give null without a reset', () => {
    expect(metricDelta(counter(1), undefined)).toMatchObject({value: null, reset: false})
    expect(metricDelta(undefined, counter(1))).toMatchObject({value: null, reset: false})
    expect(metricDelta(gauge(1), counter(2))).toMatchObject({value: null, reason: 'type changed from gauge to counter'})
  })

  test('non-finite results are null', () => {
    expect(metricDelta(undefined, gauge(Number.NaN)).value).toBeNull()
    expect(metricDelta(undefined, gauge(Number.POSITIVE_INFINITY)).value).toBeNull()
  })
})

describe('ratioDelta', () => {
  test('ΔA/ΔB', () => {
    expect(ratioDelta({before: counter(900), after: counter(1200)}, {before: counter(1000), after: counter(1400)})).toEqual({value: 0.75, reset: false})
  })

  test('untyped operands count as cumulative', () => {
    expect(ratioDelta({before: untyped(0), after: untyped(1)}, {before: untyped(0), after: untyped(4)}).value).toBe(0.25)
  })

  test('ΔB = 0, a reset, a gauge operand or a missing operand give null', () => {
    expect(ratioDelta({before: counter(1), after: counter(1)}, {before: counter(5), after: counter(5)})).toMatchObject({value: null, reason: 'denominator did not change'})
    expect(ratioDelta({before: counter(10), after: counter(2)}, {before: counter(5), after: counter(9)})).toMatchObject({value: null, reset: true})
    expect(ratioDelta({before: gauge(1), after: gauge(2)}, {before: counter(5), after: counter(9)})).toMatchObject({value: null, reset: false, reason: 'numerator is a gauge, not a counter'})
    expect(ratioDelta({before: counter(1), after: counter(2)}, {before: undefined, after: counter(9)})).toMatchObject({value: null, reason: 'denominator absent'})
  })
})

test('readingValue', () => {
  expect(readingValue(counter(3))).toBe(3)
  expect(readingValue(histogram(6, 15))).toBe(0.4)
  expect(readingValue(histogram(0, 0))).toBeNull()
  expect(readingValue(undefined)).toBeNull()
})
