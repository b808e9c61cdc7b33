#!/usr/bin/env node
/**
 * A deliberately cheap OpenAI-compatible target for the client benchmarks (issue #6), run in its own process
 * (pinned to its own core by run-all.js) so the server is never what the numbers measure. Modes are picked by
 * the path prefix, so the product's own --endpoint URL selects them:
 *
 *   /fast/v1/chat/completions                 fixed non-streaming chat.completion (the req/s test; same body as autocannon gets)
 *   /burst/<tokens>/v1/chat/completions       <tokens> SSE content chunks written as fast as the socket takes them
 *   /timed/<itlMs>/<tokens>/v1/chat/completions
 *                                             one chunk every <itlMs>, stamping its own first/last token write
 *                                             times (CLOCK_MONOTONIC ms, comparable across processes) per prompt
 *   GET  …/v1/models, GET /metrics (counted), GET /bench/stamps (and clears them), GET /bench/scrapes
 *
 * Why not the built-in simulator: it parses and hashes every prompt and models a prefix cache, which makes it the
 * bottleneck well before a fast client is; and its sim_timing stamps are not visible to the product's records.
 * Usage: node bench/target-server.mjs  → prints {"port": N} on stdout once listening.
 */
import {createServer} from 'node:http'

/** Monotonic ms shared by every process on the machine (performance.now() has a per-process origin). */
const hrMs = () => Number(process.hrtime.bigint()) / 1e6

const HEAD = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench"'
const tokenFrame = (word) => `data: ${HEAD},"choices":[{"index":0,"delta":{"content":"${word}"},"logprobs":null,"finish_reason":null}]}\n\n`
const ROLE_FRAME = `data: ${HEAD},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`
const lastFrames = (word, n, extra = '') =>
  `data: ${HEAD},"choices":[{"index":0,"delta":{"content":"${word}"},"logprobs":null,"finish_reason":"length"}]}\n\n` +
  `data: ${HEAD},"choices":[],"usage":{"prompt_tokens":8,"total_tokens":${8 + n},"completion_tokens":${n},"prompt_tokens_details":{"cached_tokens":0}}${extra}}\n\n` +
  'data: [DONE]\n\n'
const TOKEN = tokenFrame(' tok')
/** Burst mode writes frames in batches of this many: one write per batch keeps the server cheap. */
const BATCH = 64
const TOKEN_BATCH = Buffer.from(TOKEN.repeat(BATCH))

const FAST_BODY = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'bench',
    choices: [{index: 0, message: {role: 'assistant', content: 'ok'}, logprobs: null, finish_reason: 'stop'}],
    usage: {prompt_tokens: 8, total_tokens: 9, completion_tokens: 1},
  }),
)
const SSE_HEADERS = {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache'}
const MODELS = JSON.stringify({object: 'list', data: [{id: 'bench', object: 'model'}]})

let scrapes = 0
/** prompt text → server stamps, for the accuracy test. */
let stamps = {}

/** Timed streams, bucketed by due millisecond; one 1 ms interval serves them all (a timer per token would be the bottleneck). */
const wheel = new Map()
let wheelTimer
function schedule(due, fn) {
  const key = Math.ceil(due)
  let bucket = wheel.get(key)
  if (!bucket) wheel.set(key, (bucket = []))
  bucket.push(fn)
  wheelTimer ??= setInterval(tickWheel, 1)
}
function tickWheel() {
  const now = hrMs()
  for (const [key, bucket] of wheel) {
    if (key > now) continue
    wheel.delete(key)
    for (const fn of bucket) fn()
  }
  if (wheel.size === 0) {
    clearInterval(wheelTimer)
    wheelTimer = undefined
  }
}

function timed(req, res, itlMs, n) {
  const parts = []
  req.on('data', (c) => parts.push(c))
  req.on('end', () => {
    const body = Buffer.concat(parts).toString('utf8')
    const m = /"content":"([^"]*)"\}\]/.exec(body)
    const tag = m ? m[1] : `?${Object.keys(stamps).length}`
    const arrival = hrMs()
    const first = arrival + itlMs // "prefill" of one ITL
    let i = 0
    let firstWrite = 0
    const step = () => {
      if (res.destroyed) return
      const now = hrMs()
      if (i === 0) {
        firstWrite = now
        res.writeHead(200, SSE_HEADERS)
        res.write(ROLE_FRAME + TOKEN)
      } else if (i === n - 1) {
        stamps[tag] = {arrival, first_token_write_ms: firstWrite, last_token_write_ms: now, tokens: n}
        res.end(lastFrames(' end', n))
        res.socket?.uncork()
        return
      } else {
        res.write(TOKEN)
      }
      // node:http corks the socket on every write and uncorks on nextTick, i.e. after every other stream due in this
      // tick has been written: the stamp would then precede the real send by the whole tick. Flush now instead.
      res.socket?.uncork()
      i++
      schedule(first + i * itlMs, step)
    }
    schedule(first, step)
  })
}

function burst(req, res, n) {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, SSE_HEADERS)
    res.write(ROLE_FRAME)
    let left = n
    const pump = () => {
      while (left > BATCH) {
        left -= BATCH
        if (!res.write(TOKEN_BATCH)) return res.once('drain', pump)
      }
      res.end(TOKEN.repeat(left - 1) + lastFrames(' end', n))
    }
    pump()
  })
}

const server = createServer({keepAliveTimeout: 65_000}, (req, res) => {
  const url = req.url ?? '/'
  if (url.startsWith('/fast/')) {
    if (req.method === 'GET') return void res.end(MODELS)
    req.resume()
    req.on('end', () => {
      res.writeHead(200, {'content-type': 'application/json', 'content-length': FAST_BODY.length})
      res.end(FAST_BODY)
    })
    return
  }
  if (url.endsWith('/v1/models')) return void res.writeHead(200, {'content-type': 'application/json'}).end(MODELS)
  if (url === '/metrics') {
    scrapes++
    res.writeHead(200, {'content-type': 'text/plain; version=0.0.4'})
    return void res.end(`# TYPE bench_requests_total counter\nbench_requests_total ${scrapes}\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n`)
  }
  if (url === '/bench/scrapes') return void res.end(JSON.stringify({scrapes}))
  if (url === '/bench/stamps') {
    const out = JSON.stringify(stamps)
    stamps = {}
    return void res.end(out)
  }
  if (url === '/bench/clock') return void res.end(JSON.stringify({hrMs: hrMs()}))
  let m = /^\/burst\/(\d+)\//.exec(url)
  if (m) return burst(req, res, Math.max(2, Number(m[1])))
  m = /^\/timed\/([\d.]+)\/(\d+)\//.exec(url)
  if (m) return timed(req, res, Number(m[1]), Math.max(2, Number(m[2])))
  req.resume()
  res.writeHead(404).end()
})
server.on('clientError', (_e, socket) => socket.destroy())
server.listen({host: '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 8192}, () => {
  process.stdout.write(JSON.stringify({port: server.address().port}) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
