import {ChunkScanner, SCAN_CONTENT, SCAN_FALLBACK, SCAN_NONE} from '../../src/http/chunk-scan.js'
import {applyStreamEvent, applyStreamEventBytes, createStreamState, PreviewChars, previewOf, type StreamState} from '../../src/http/openai-stream.js'
import {createRng, randomInt, type Rng} from '../../src/prng.js'

/**
 * The in-place reader must give exactly what JSON.parse's path gives, on every input: both are run on the same data
 * (the bytes placed inside a larger buffer, as a socket read holds them) and their effects and states compared.
 */
type Result = [effect: string, state: Omit<StreamState, 'previewChars'>]

/** The effect, and the state with its preview read out (wherever it was gathered). */
function result(effect: string, state: StreamState): Result {
  const {previewChars: _, ...rest} = state
  return [effect, {...rest, outputPreview: previewOf(state)}]
}

/**
 * `data` through JSON.parse's path, and in place twice: with the preview in a string, and in PreviewChars (as the
 * measured path has it), each starting from `preview`.
 */
function both(data: string, preview = ''): {general: Result; inPlace: Result; inPlaceChars: Result} {
  const general = {...createStreamState(), outputPreview: preview}
  const inPlace = {...createStreamState(), outputPreview: preview}
  const chars = new PreviewChars()
  chars.add(preview)
  const inPlaceChars = createStreamState(chars)
  const bytes = Buffer.from(data)
  // What the general path got before: the bytes decoded (a lone surrogate in `data` became U+FFFD on the wire).
  const text = bytes.toString('utf8')
  // Junk around the data (an unterminated string, braces) that a reader running past its end would trip on.
  const read = Buffer.concat([Buffer.from('{"x":"'), bytes, Buffer.from('"}]}{')])
  return {
    general: result(applyStreamEvent(general, text), general),
    inPlace: result(applyStreamEventBytes(inPlace, read, 6, 6 + bytes.length), inPlace),
    inPlaceChars: result(applyStreamEventBytes(inPlaceChars, read, 6, 6 + bytes.length), inPlaceChars),
  }
}

function expectSame(data: string, preview = ''): void {
  const {general, inPlace, inPlaceChars} = both(data, preview)
  expect({data, result: inPlace}).toEqual({data, result: general})
  expect({data, result: inPlaceChars}).toEqual({data, result: general})
}

function scanned(data: string): number {
  const bytes = Buffer.from(data)
  return new ChunkScanner().scan(bytes, 0, bytes.length)
}

const id = '"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"m"'

/** Chunks as engines send them, one line each (from their docs and captured streams). */
const ENGINE_CHUNKS = [
  // vLLM
  `{${id},"choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}`,
  `{${id},"choices":[{"index":0,"delta":{"reasoning_content":"Let me"},"logprobs":null,"finish_reason":null}]}`,
  `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" x","logprobs":null,"finish_reason":null,"stop_reason":null}]}`,
  // SGLang
  `{${id},"choices":[{"index":0,"delta":{"role":null,"content":"Hi","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}`,
  // OpenAI
  `{${id},"system_fingerprint":"fp_1","service_tier":"default","choices":[{"index":0,"delta":{"content":"ok"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"a1"}`,
  // llama.cpp (keys sorted)
  `{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hey"}}],"created":1,"id":"chatcmpl-x","model":"m","system_fingerprint":"b1-x","object":"chat.completion.chunk"}`,
  // TGI, Ollama
  `{"object":"chat.completion.chunk","id":"","created":1,"model":"m","system_fingerprint":"3.0-sha","choices":[{"index":0,"delta":{"role":"assistant","content":"a"},"logprobs":null,"finish_reason":null}],"usage":null}`,
  `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"b"},"finish_reason":null}]}`,
  // gpt-oss on vLLM, OpenRouter: `reasoning`
  `{${id},"choices":[{"index":0,"delta":{"reasoning":"think"},"finish_reason":null}]}`,
  // Python json.dumps spacing
  `{"id": "c", "choices": [{"index": 0, "delta": {"content": "sp aced"}, "finish_reason": null}], "created": 1.5e9}`,
]

describe('chunk scan: the common chunk is read in place, with the same result as JSON.parse', () => {
  test.each(ENGINE_CHUNKS)('%s', (data) => {
    expect(scanned(data)).toBe(SCAN_CONTENT)
    expectSame(data)
    expectSame(data, 'x'.repeat(200)) // a full preview: no text taken
  })

  test('role chunks and empty deltas are no content, without JSON.parse', () => {
    for (const data of [
      `{${id},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
      `{${id},"choices":[{"index":0,"delta":{},"finish_reason":""}]}`,
      `{${id},"choices":[{"index":0,"delta":null,"text":""}]}`,
      `{${id},"choices":[]}`,
      '{}',
    ]) {
      expect(scanned(data)).toBe(SCAN_NONE)
      expectSame(data)
    }
  })

  test('escapes and non-ASCII text are decoded as JSON.parse decodes them', () => {
    for (const content of ['line\\nbreak', 'quote \\" and \\\\', '\\u00e9t\\u00E9', '\\ud83d\\ude80', 'é🚀中', '\\/\\b\\f\\r\\t', '\\ud800 lone']) {
      const data = `{${id},"choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}`
      expect(scanned(data)).toBe(SCAN_CONTENT)
      expectSame(data)
    }
  })

  test('reasoning and content in one chunk are both previewed, reasoning first', () => {
    const data = `{${id},"choices":[{"index":0,"delta":{"content":"B","reasoning_content":"A"}}]}`
    expectSame(data)
    expect(both(data).inPlaceChars[1]).toMatchObject({outputPreview: 'AB', reasoningStreamed: true, contentChunks: 1})
  })

  test('everything the scan does not read exactly goes the general way', () => {
    const fallbacks = [
      `{${id},"choices":[{"index":0,"delta":{"content":"end"},"finish_reason":"stop"}]}`,
      `{${id},"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}`,
      `{${id},"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`,
      `{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"timings":{"cache_n":5,"prompt_n":2}}`,
      `{"error":{"message":"boom","code":500}}`,
      `{"object":"error","message":"bad"}`,
      `{"object":"\\u0065rror","message":"bad"}`,
      `{${id},"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]}}]}`,
      `{${id},"choices":[{"index":0,"delta":{"refusal":"no"}}]}`,
      `{${id},"choices":[{"index":0,"delta":{"content":"a","content":""}}]}`,
      `{${id},"choices":[{"index":0,"delta":{"content":"a"}}],"choices":[]}`,
      `{${id},"choices":[{"index":0,"delta":{"\\u0063ontent":"a"}}]}`,
      `{${id},"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}`,
      `{${id},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[]}}]}`,
      `{${id},"choices":[null]}`,
      '[DONE]',
      ' [DONE] ',
      '',
      '   ',
      '[1,2]',
      'null',
      `{${id},"choices":[{"index":0,"delta":{"content":"a"}}]`,
      `{${id},"choices":[{"index":0,"delta":{"content":"a"}}],}`,
      `{${id},"choices":[{"index":0,"delta":{"content":"a"}}]} x`,
      `{"created":01,"choices":[{"delta":{"content":"a"}}]}`,
      `{"created":1.,"choices":[{"delta":{"content":"a"}}]}`,
      `{"created":-,"choices":[{"delta":{"content":"a"}}]}`,
      `{"ok":tru,"choices":[{"delta":{"content":"a"}}]}`,
      `{"choices":[{"delta":{"content":"a\\x"}}]}`,
      `{"choices":[{"delta":{"content":"a\\u12"}}]}`,
      `{"choices":[{"delta":{"content":"tab\there"}}]}`,
      `{"choices" [{"delta":{"content":"a"}}]}`,
      `{'choices':[]}`,
    ]
    for (const data of fallbacks) {
      expect({data, scan: scanned(data)}).toEqual({data, scan: SCAN_FALLBACK})
      expectSame(data)
    }
  })

  test('randomly built and randomly damaged chunks: always the same result as JSON.parse', () => {
    const rng = createRng(20261124)
    let fast = 0
    for (let n = 0; n < 4000; n++) {
      let data = randomChunk(rng)
      if (rng() < 0.2) data = damage(rng, data)
      const preview = rng() < 0.5 ? '' : 'p'.repeat(randomInt(rng, 201))
      if (scanned(data) !== SCAN_FALLBACK) fast++
      expectSame(data, preview)
    }
    // The generator must reach the in-place path often, or this test would only check the fallback.
    expect(fast).toBeGreaterThan(1000)
  })
})

const pick = <T>(rng: Rng, items: T[]): T => items[randomInt(rng, items.length)]!

function randomString(rng: Rng): string {
  const pieces = ['a', ' tok', 'é', '🚀', '\\n', '\\"', '\\u00e9', '\\\\', '', '中文', '\\t']
  let out = ''
  for (let k = randomInt(rng, 4); k > 0; k--) out += pick(rng, pieces)
  return `"${out}"`
}

function randomSimple(rng: Rng): string {
  return pick(rng, [() => 'null', () => 'true', () => 'false', () => '0', () => '-12.5e3', () => '1700000000', () => randomString(rng)])()
}

/** An object of `entries` in random order and spacing, sometimes with a repeated key. */
function randomObject(rng: Rng, entries: [string, string][]): string {
  const members = entries.filter(() => rng() < 0.85)
  if (rng() < 0.03 && members.length > 0) members.push(pick(rng, members))
  for (let k = members.length - 1; k > 0; k--) {
    const j = randomInt(rng, k + 1)
    ;[members[k], members[j]] = [members[j]!, members[k]!]
  }
  const sp = () => pick(rng, ['', '', '', ' ', '\n', ' \t'])
  return `{${sp()}${members.map(([key, value]) => `"${key}"${sp()}:${sp()}${value}`).join(`${sp()},${sp()}`)}${sp()}}`
}

function randomChunk(rng: Rng): string {
  /** Mostly the usual value, sometimes one that sends the chunk the general way. */
  const usually = (usual: string, others: string[]) => (rng() < 0.93 ? usual : pick(rng, others))
  const textOrOther = () => (rng() < 0.85 ? randomString(rng) : randomSimple(rng))
  const delta = randomObject(rng, [
    ['role', pick(rng, ['"assistant"', 'null'])],
    ['content', textOrOther()],
    ['reasoning_content', rng() < 0.8 ? 'null' : textOrOther()],
    ['reasoning', rng() < 0.9 ? 'null' : textOrOther()],
    ['refusal', usually('null', ['""', '"no"'])],
    ['tool_calls', usually('null', ['[]', '[{"function":{"name":"f","arguments":"{}"}}]'])],
  ])
  const choice = randomObject(rng, [
    ['index', '0'],
    ['delta', rng() < 0.9 ? delta : 'null'],
    ['text', rng() < 0.8 ? 'null' : textOrOther()],
    ['logprobs', usually('null', ['{"content":[]}'])],
    ['finish_reason', usually('null', ['""', '"stop"', '"length"'])],
  ])
  return randomObject(rng, [
    ['id', '"chatcmpl-1"'],
    ['object', usually('"chat.completion.chunk"', ['"error"', '1'])],
    ['created', randomSimple(rng)],
    ['choices', usually(`[${choice}]`, ['[]', `[${choice},${choice}]`])],
    ['usage', usually('null', ['{"prompt_tokens":3,"completion_tokens":4}'])],
    ['error', usually('null', ['{"message":"x"}', '"boom"'])],
    ['timings', usually('null', ['{"cache_n":2}'])],
  ])
}

/** Deletes, inserts or replaces one character. */
function damage(rng: Rng, data: string): string {
  const at = randomInt(rng, data.length + 1)
  const ch = pick(rng, ['"', '{', '}', '[', ']', ',', ':', '\\', 'x', '0', ' ', '\u0001'])
  const op = randomInt(rng, 3)
  if (op === 0) return data.slice(0, at) + data.slice(at + 1)
  if (op === 1) return data.slice(0, at) + ch + data.slice(at)
  return data.slice(0, at) + ch + data.slice(at + 1)
}
