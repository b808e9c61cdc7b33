#!/usr/bin/env node
/**
 * autocannon (programmatic, one thread: the same single core the product gets) against the bench target, with
 * the exact body the product sends; reports req/s over the run and its own CPU %. Prints one JSON line.
 * Usage: node bench/autocannon-run.mjs '<json>' with {url, connections, amount, body}
 */
import autocannon from 'autocannon'

const spec = JSON.parse(process.argv[2])
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const result = await autocannon({
  url: spec.url,
  method: 'POST',
  connections: spec.connections,
  amount: spec.amount,
  headers: {'content-type': 'application/json', accept: 'application/json'},
  body: spec.body,
})
const wallS = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
const done = result['2xx']
process.stdout.write(
  JSON.stringify({requests: done, errors: result.errors + result.non2xx + result.timeouts, requests_per_s: done / wallS, wall_s: wallS, duration_s: result.duration, cpu_pct: (100 * (cpu.user + cpu.system)) / 1e6 / wallS}) + '\n',
)
