import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {parseConcurrency} from '../../src/config/run-config.js'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {runCli} from '../helpers/run-cli.js'
import {jsonResponse, openAiStream, startScriptedServer} from '../helpers/scripted-server.js'

/** The flags of issue #7 through the real CLI, against the simulator (and a recording server for what is sent). */

let sim: Simulator
let dir: string
let dataset: string
const readJson = async (...p: string[]) => JSON.parse(await readFile(path.join(dir, ...p), 'utf8'))

beforeAll(async () => {
  sim = await startSimulator({baseTtftMs: 2, prefillMsPerToken: 0.02, itlMs: 1, defaultOutputTokens: 6})
})
afterAll(async () => sim.close())
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dual-bench-flags-'))
  dataset = path.join(dir, 'data.jsonl')
  const long = (i: number) => Array.from({length: 120}, (_, j) => `word${(i * 31 + j) % 97}`).join(' ')
  await writeFile(dataset, [0, 1].map((i) => JSON.stringify({id: `d${i}`, text: `Sample ${i}. ${long(i)}`})).join('\n') + '\n')
})
afterEach(async () => rm(dir, {recursive: true, force: true}))

const endpoint = () => `${sim.url}/v1/chat/completions`

describe('--concurrency ranges', () => {
  test('lists, doubling ranges and stepped ranges, in the order given', () => {
    expect(parseConcurrency(['1,2,4-32'])).toEqual([1, 2, 4, 8, 16, 32])
    expect(parseConcurrency(['8-24:8', '2'])).toEqual([8, 16, 24, 2])
    expect(parseConcurrency(['5', '10', '5'])).toEqual([5, 10])
    expect(() => parseConcurrency(['4-2'])).toThrow(/not a valid range/)
    expect(() => parseConcurrency(['0'])).toThrow(/positive integer/)
  })
})

describe('run flags against the simulator', () => {
  test('--prompt --num-requests --single-round --show-samples: a quick run of distinct requests, one round, samples printed', async () => {
    const out = path.join(dir, 'q')
    const r = await runCli(['run', '--endpoint', endpoint(), '--prompt', 'Say hello', '--system', 'Be brief', '--num-requests', '6', '--concurrency', '2', '--single-round', '--show-samples', '2', '--output-dir', out])
    expect(r.code).toBe(0)
    expect((await readdir(out)).filter((f) => f.startsWith('concurrency_'))).toEqual(['concurrency_2_round_1.json'])
    const round = await readJson('q', 'concurrency_2_round_1.json')
    expect(round.summary.total_requests).toBe(6)
    expect(round.requests.map((x: {sample_id: string}) => x.sample_id)).toEqual(['prompt', 'prompt#1', 'prompt#2', 'prompt#3', 'prompt#4', 'prompt#5'])
    // Each copy carries its own salt suffix, so copies are not cache hits of each other.
    expect(round.summary.cache.cached_share).toBeLessThan(0.5)
    expect(r.stdout).toMatch(/Sample 1 \(C=2, round 1, prompt\): latency [\d.]+ ms, TTFT [\d.]+ ms, 6 output tokens/)
    expect(r.stdout).toContain('Sample 2 ')
    expect(r.stdout).not.toContain('Sample 3 ')
    // The client warm-up is on by default (rehearsing in-process; the 6 requests above are all the server got).
    expect(r.stdout + r.stderr).toMatch(/Client warm-up: 2048 requests to an in-process simulator in [\d.]+ s/)
  })

  test('--requests-per-level cycles the dataset', async () => {
    const r = await runCli(['run', '--endpoint', endpoint(), '--dataset', dataset, '--requests-per-level', '5', '--output-dir', path.join(dir, 'o'), '--no-client-warmup'])
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).not.toContain('Client warm-up')
    const round2 = await readJson('o', 'concurrency_1_round_2.json')
    expect(round2.requests.map((x: {sample_id: string}) => x.sample_id)).toEqual(['d0', 'd1', 'd0#1', 'd1#1', 'd0#2'])
    expect(round2.summary.cache.cached_share).toBeGreaterThan(0.8)
  })

  test('--no-stream: no TTFT/ITL, said in the output; latency and tokens measured', async () => {
    const r = await runCli(['run', '--endpoint', endpoint(), '--dataset', dataset, '--no-stream', '--output-dir', path.join(dir, 'o')])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Non-streaming run (--no-stream)')
    const round = await readJson('o', 'concurrency_1_round_1.json')
    expect(round.summary.avg_ttft).toBeNull()
    expect(round.summary.avg_latency).toBeGreaterThan(0)
    expect(round.summary.avg_output_tokens).toBe(6)
  })

  test('--lang zh: the seed\'s Chinese labels in the table and the CSV', async () => {
    const r = await runCli(['run', '--endpoint', endpoint(), '--dataset', dataset, '--lang', 'zh', '--output-dir', path.join(dir, 'o')])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('并发: 1 | 第 1 轮性能指标')
    expect(r.stdout).toContain('总请求数: 2 | 成功: 2 | 失败: 0')
    const csv = await readFile(path.join(dir, 'o', 'metrics_summary.csv'), 'utf8')
    expect(csv.split('\n')[0]).toBe('指标/轮次,并发1-第1轮,并发1-第2轮')
    expect(csv).toContain('\n平均值,')
    expect(csv).toContain('\n标准差,')
  })

  test('targets: PASS exits 0, a FAIL exits 3 with the table', async () => {
    const pass = path.join(dir, 'pass.yaml')
    await writeFile(pass, 'slo:\n  ttft_ms: 100000\ntargets:\n  p99_latency_ms: 100000\n  max_error_rate: 0\n  min_goodput_ratio: 1\n')
    const ok = await runCli(['run', '--endpoint', endpoint(), '--dataset', dataset, '--slo-file', pass, '--output-dir', path.join(dir, 'a')])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('PASS')
    expect(ok.stdout).not.toContain('FAIL')

    const fail = path.join(dir, 'fail.yaml')
    await writeFile(fail, 'targets:\n  p99_latency_ms: 0.001\n  rounds: [2]\n')
    const bad = await runCli(['run', '--endpoint', endpoint(), '--dataset', dataset, '--slo-file', fail, '--output-dir', path.join(dir, 'b')])
    expect(bad.code).toBe(3)
    expect(bad.stdout).toContain('FAIL')
    const run = await readJson('b', 'run.json')
    expect(run.target_results.every((t: {pass: boolean; round: number}) => !t.pass && t.round === 2)).toBe(true)
  })

  test('--api responses (inferred from the path too) works end to end, warm round hits the cache', async () => {
    const r = await runCli(['run', '--endpoint', `${sim.url}/v1/responses`, '--dataset', dataset, '--output-dir', path.join(dir, 'o')])
    expect(r.code).toBe(0)
    const warm = await readJson('o', 'concurrency_1_round_2.json')
    expect(warm.summary.successful_requests).toBe(2)
    expect(warm.summary.cache.cached_share).toBeGreaterThan(0.8)
    expect(warm.summary.avg_ttft).toBeGreaterThan(0)
  })
})

test('--extra-body and --header reach the server; header values never reach the outputs', async () => {
  const server = await startScriptedServer((req) => (req.method === 'GET' ? jsonResponse(200, {data: [{id: 'm'}]}) : {body: openAiStream({tokens: 3, usage: {prompt_tokens: 5, completion_tokens: 3}})}))
  try {
    const out = path.join(dir, 'o')
    const r = await runCli([
      'run', '--endpoint', server.endpoint().toString(), '--dataset', dataset, '--output-dir', out,
      '--extra-body', '{"ignore_eos": true, "top_k": 5, "model": "not-this"}', '--header', 'X-Tenant:secret-tenant-value',
    ])
    expect(r.code).toBe(0)
    const posts = server.requests.filter((q) => q.method === 'POST')
    expect(posts.length).toBe(5) // preflight + 2 samples × 2 rounds
    for (const q of posts) {
      const body = JSON.parse(q.body.toString())
      expect(body).toMatchObject({ignore_eos: true, top_k: 5, model: 'm'})
      expect(q.headers['x-tenant']).toBe('secret-tenant-value')
    }
    for (const f of await readdir(out)) expect(await readFile(path.join(out, f), 'utf8')).not.toContain('secret-tenant-value')
    expect(r.stdout + r.stderr).not.toContain('secret-tenant-value')
  } finally {
    await server.close()
  }
})
