#!/usr/bin/env node
/**
 * Where a non-streaming request's client time goes: the measured path cut into layers, each run alone in its own
 * process (pinned by run-all.js to the client core) against the bench target, at one concurrency. Each layer adds
 * one piece of what `dual-bench run` does per request:
 *   undici     undici's dispatch API, one Client per connection, body read and dropped: the reference the
 *              product's own HTTP layer was chosen against (http/http1-connection.ts)
 *   connection the product's HTTP layer alone: one Http1Connection per connection, body read and dropped
 *   transport  + the measured transport (record, timers, pacing, body parse, the run's cancel signal)
 *   runner     + the runner (plan, summary columns, SLO-free bookkeeping), records dropped
 * (the whole product, which adds requests.jsonl, is product-run.mjs). A first pass warms the code; the second is
 * measured. Prints one JSON line: req/s and client CPU µs per request over the measured pass.
 *
 * Usage: node bench/client-layers.mjs '<json>'  with {endpoint, concurrency, requests, layer}
 */
import {createRequire} from 'node:module'
import {setMaxListeners} from 'node:events'

const require = createRequire(import.meta.url)
const {Client} = require('undici')
const {createMeasuredTransport, preconnect} = await import('../dist/http/measured-transport.js')
const {Http1Connection} = await import('../dist/http/http1-connection.js')
const {buildPlan} = await import('../dist/runner/plan.js')
const {runPlan} = await import('../dist/runner/runner.js')

const spec = JSON.parse(process.argv[2])
const endpoint = new URL(spec.endpoint)
const C = spec.concurrency
const N = spec.requests
const bodyOptions = {api: 'chat', model: 'bench', stream: false, includeUsage: false}
const samples = Array.from({length: N}, (_, i) => ({id: `r${i}`, messages: [{role: 'user', content: `r${i}`}]}))
// The run command's interrupt signal, never aborted: the transport listens to it as in a real run.
const cancel = new AbortController().signal
const stop = new AbortController().signal
setMaxListeners(0, cancel, stop)
const transportOptions = (maxSockets) => ({endpoint, timeoutMs: 600_000, maxSockets, api: 'chat', stream: false})

/** One pass of N requests at concurrency C; resolves to {wallS, cpuS} over the pass. */
const passes = {
  async undici() {
    const plan = buildPlan(samples, [C], bodyOptions, {rounds: 1, salts: [undefined]})
    const request = plan[0].prepare()
    const clients = Array.from({length: C}, () => new Client(endpoint.origin, {pipelining: 1, keepAliveTimeout: 4000, headersTimeout: 0, bodyTimeout: 0}))
    const headers = ['content-type', 'application/json', 'accept', 'application/json']
    const path = endpoint.pathname
    const one = (client, body) =>
      new Promise((resolve, reject) => {
        client.dispatch({method: 'POST', path, headers, body}, {onConnect() {}, onHeaders: () => true, onData: () => true, onComplete: resolve, onError: reject})
      })
    // Connections opened before the clock, as the product's preconnect does.
    await Promise.all(clients.map((client) => one(client, request(1, 0).body)))
    return timed(async () => {
      let next = 0
      await Promise.all(clients.map(async (client) => {
        while (next < N) await one(client, request(1, next++).body)
      }))
    }).finally(() => Promise.all(clients.map((client) => client.destroy())))
  },
  async connection() {
    const plan = buildPlan(samples, [C], bodyOptions, {rounds: 1, salts: [undefined]})
    const request = plan[0].prepare()
    const target = {url: endpoint, insecure: false, idleLimitMs: 4000}
    const connections = Array.from({length: C}, () => new Http1Connection(target))
    const headers = ['content-type', 'application/json', 'accept', 'application/json']
    const path = endpoint.pathname
    const one = (connection, body) =>
      new Promise((resolve, reject) => {
        connection.dispatch({method: 'POST', path, headers, body}, {onHeaders() {}, onData() {}, onComplete: resolve, onError: reject})
      })
    await Promise.all(connections.map((connection) => one(connection, request(1, 0).body)))
    return timed(async () => {
      let next = 0
      await Promise.all(connections.map(async (connection) => {
        while (next < N) await one(connection, request(1, next++).body)
      }))
    }).finally(() => connections.forEach((connection) => connection.abort()))
  },
  async transport() {
    const plan = buildPlan(samples, [C], bodyOptions, {rounds: 1, salts: [undefined]})
    const request = plan[0].prepare()
    const transport = createMeasuredTransport(transportOptions(C))
    await transport.preconnect(C)
    return timed(async () => {
      let next = 0
      await Promise.all(Array.from({length: C}, async () => {
        while (next < N) {
          const record = await transport.send(request(1, next++), {queuedAtMs: performance.now(), signal: cancel})
          if (!record.ok) throw new Error(`request failed: ${record.error?.message}`)
        }
      }))
    }).finally(() => transport.close())
  },
  async runner() {
    const plan = buildPlan(samples, [C], bodyOptions, {rounds: 1, salts: [undefined]})
    let mark
    let result
    await runPlan(plan, {
      createTransport: (maxSockets) => createMeasuredTransport(transportOptions(maxSockets)),
      preconnect: (transport, n) => preconnect(transport, n),
      onRecord: () => {},
      onRound: () => {},
      observer: {
        roundStart: () => (mark = start()),
        roundEnd: () => (result = since(mark)),
      },
      session: 1,
      stop,
      cancel,
    })
    return result
  },
}

const start = () => ({wall: performance.now(), cpu: process.cpuUsage()})
const since = (mark) => {
  const cpu = process.cpuUsage(mark.cpu)
  return {wallS: (performance.now() - mark.wall) / 1000, cpuS: (cpu.user + cpu.system) / 1e6}
}
async function timed(work) {
  const mark = start()
  await work()
  return since(mark)
}

const pass = passes[spec.layer]
if (!pass) throw new Error(`unknown layer ${spec.layer}; one of ${Object.keys(passes).join(', ')}`)
await pass() // code warm-up
const {wallS, cpuS} = await pass()
process.stdout.write(JSON.stringify({layer: spec.layer, concurrency: C, requests: N, requests_per_s: N / wallS, cpu_us_per_request: (1e6 * cpuS) / N, cpu_pct: (100 * cpuS) / wallS}) + '\n')
process.exit(0)
