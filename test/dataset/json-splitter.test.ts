import {JsonElementSplitter, lineOfParseError, SplitError} from '../../src/dataset/json-splitter.js'

/** Feeds `text` in chunks of `size` characters and returns every element. */
function split(text: string, size: number) {
  const s = new JsonElementSplitter()
  const out = []
  for (let i = 0; i < text.length; i += size) out.push(...s.feed(text.slice(i, i + size)))
  out.push(...s.end())
  return {elements: out, splitter: s}
}

const DOC = `{
  "meta": {"data": "not this one", "list": [1, {"data": [9]}]},
  "label": "x]}\\"[{",
  "data": [
    {"id": 1, "text": "a, b]"},
    [1, 2, {"x": "}"}],
    "plain \\" string",
    42,
    {"nested": {"data": [1, 2]}}
  ],
  "after": true
}`

test('element texts and start lines are independent of chunk boundaries', () => {
  const expected = JSON.parse(DOC).data
  for (const size of [1, 2, 3, 7, 64, DOC.length]) {
    const {elements, splitter} = split(DOC, size)
    expect(elements.map((e) => JSON.parse(e.text))).toEqual(expected)
    expect(elements.map((e) => e.line)).toEqual([5, 6, 7, 8, 9])
    expect(splitter.shape).toBe('object')
    expect(splitter.foundDataArray).toBe(true)
    expect(splitter.trailingLine).toBeUndefined()
  }
})

test('top-level array with one element per line', () => {
  const {elements} = split('[\n{"a":1},\n{"b":2}\n]', 3)
  expect(elements).toEqual([
    {text: '{"a":1}', line: 2},
    {text: '{"b":2}', line: 3},
  ])
})

test('structural errors carry the line', () => {
  expect(() => split('[1,\n\n]', 2)).toThrow(SplitError)
  try {
    split('[1,\n\n]', 2)
  } catch (err) {
    expect((err as SplitError).line).toBe(3)
  }
})

test('lineOfParseError maps a JSON.parse position to a file line', () => {
  const text = '{\n  "a": 1\n  "b": 2\n}'
  let err: unknown
  try {
    JSON.parse(text)
  } catch (e) {
    err = e
  }
  expect(lineOfParseError(err, text, 10)).toBe(12)
})
