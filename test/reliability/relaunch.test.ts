/**
 * `dual-bench run` measures in a child Node started with a small V8 helper pool (src/perf/relaunch.ts), through the
 * real CLI: the child's command line carries the option, the parent's death stops the child with its results kept,
 * and a pool size the user chose in NODE_OPTIONS means no child at all. (SIGINT through the parent, and exit codes,
 * are covered by interrupt-resume.test.ts and every other CLI test, which all go through the parent.)
 */
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {runCli, spawnCli, waitFor} from '../helpers/run-cli.js'
import {readRecords, tempDir, writeDataset} from './support.js'

/** Pids whose parent is `pid`, with their command lines (Linux /proc). */
function childrenOf(pid: number): {pid: number; argv: string[]}[] {
  const found: {pid: number; argv: string[]}[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1])
      if (ppid === pid) found.push({pid: Number(entry), argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean)})
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** Whether `pid` still runs (a zombie does not). One read: the process may go between a check and a read. */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

const linux = process.platform === 'linux'
// On one core (taskset) the product asks for one helper thread whatever the machine has.
const prefix = existsSync('/usr/bin/taskset') ? ['taskset', '-c', '0'] : undefined
;(linux && prefix ? describe : describe.skip)('run in a child Node with a small V8 helper pool (CLI, Linux)', () => {
  let sim: Simulator
  let dir: string
  let cleanup: () => Promise<void>
  let dataset: string

  beforeAll(async () => {
    // 40 ms per token: a request takes ~0.3 s, so the run is still measuring when the parent is killed.
    sim = await startSimulator({baseTtftMs: 5, prefillMsPerToken: 0.01, itlMs: 40})
    ;({dir, cleanup} = await tempDir('relaunch'))
    dataset = await writeDataset(dir, 8)
  })
  afterAll(async () => {
    await sim.close()
    await cleanup()
  })

  const args = (out: string) => ['run', '--dataset', dataset, '--endpoint', `${sim.url}/v1/chat/completions`, '--concurrency', '1', '2', '--max-output-tokens', '8', '--output-dir', out]

  test('the child runs with --v8-pool-size=1 and no memory reducer; killing the parent (kill -9) stops the child, which keeps what it measured', async () => {
    const out = path.join(dir, 'killed')
    const cli = spawnCli(args(out), {prefix})
    const parent = cli.child.pid!
    await waitFor(() => childrenOf(parent).length > 0, 'the measuring child')
    const [child] = childrenOf(parent)
    expect(child.argv).toEqual([process.execPath, '--v8-pool-size=1', '--no-memory-reducer', expect.stringMatching(/bin[/\\]run\.js$/), ...args(out)])

    await waitFor(async () => existsSync(path.join(out, 'requests.jsonl')) && readFileSync(path.join(out, 'requests.jsonl'), 'utf8').includes('\n'), 'the first record')
    cli.child.kill('SIGKILL')
    expect((await cli.done).signal).toBe('SIGKILL')
    await waitFor(() => !alive(child.pid), 'the child to stop', 20_000)
    // Stopped as on SIGTERM: in-flight requests finished, summaries written, nothing measured lost.
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'))
    expect(run.status).toBe('interrupted')
    const records = await readRecords(out)
    expect(records.length).toBeGreaterThanOrEqual(1)
    expect(records.every((r) => r.ok)).toBe(true)
  })

  test('neither the relaying parent nor the measuring child collects for V8\'s memory reducer', async () => {
    // A parent that loaded the product (as bench/product-run.mjs does) and an idle child: without the two options
    // (relaunch.ts), each does a mark-compact "(reduce)" 8 s after it starts and another 0.5 s later. ≈ 9.5 s.
    const script = path.join(dir, 'idle.mjs')
    const dist = pathToFileURL(path.resolve('dist')).href
    writeFileSync(script, `
      import '${dist}/run/run-benchmark.js'
      import {relaunchWithV8Pool} from '${dist}/perf/relaunch.js'
      if (!relaunchWithV8Pool()) await new Promise((resolve) => setTimeout(resolve, 9300))
    `)
    const [command, ...argv] = [...prefix!, process.execPath, '--trace-gc', script]
    const child = spawn(command, argv, {stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    const [code] = await once(child, 'close')
    expect(code).toBe(0)
    const collections = out.split('\n').filter((line) => /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: /.test(line))
    // Both traced (the child inherits --trace-gc): each did its start-up collections.
    expect(new Set(collections.map((line) => line.split(':', 1)[0])).size).toBe(2)
    expect(collections.filter((line) => line.includes('(reduce)'))).toEqual([])
  }, 30_000)

  test('--workers 2 in the relaunched child: its worker threads start (Node refuses --v8-pool-size in their own options)', async () => {
    const out = path.join(dir, 'workers')
    const r = await runCli(['run', '--dataset', dataset, '--endpoint', `${sim.url}/v1/chat/completions`, '--concurrency', '4', '--max-output-tokens', '8', '--output-dir', out, '--workers', '2'], {prefix})
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('runs on 2 worker threads')
    expect(await readRecords(out)).toHaveLength(8 * 2)
  })

  test('a pool size chosen in NODE_OPTIONS is kept: no child, the run measures in the process started', async () => {
    const out = path.join(dir, 'chosen')
    const cli = spawnCli(args(out), {prefix, env: {NODE_OPTIONS: '--v8-pool-size=2'}})
    let children = 0
    const watch = setInterval(() => (children = Math.max(children, childrenOf(cli.child.pid!).length)), 20)
    const r = await cli.done
    clearInterval(watch)
    expect({code: r.code, children}).toEqual({code: 0, children: 0})
    expect(await readRecords(out)).toHaveLength(8 * 2 * 2)
  })
})
