/**
 * Issue #5, part 3: every bad input ends with exit 2 and one message that names the file/flag/line and says
 * what to do — no stack trace — before anything is sent, and nothing in an existing output directory is
 * destroyed (checksums before/after).
 *
 * Every bad run points --output-dir at a finished run's directory with --force (so a refusal of a non-empty
 * directory cannot hide what a bad input would do to it). The runs are independent short-lived processes, so
 * they are started together in beforeAll and each case is then judged by its own test.
 */
import {chmod, mkdir, readdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {startSimulator, type Simulator} from '../../src/sim/index.js'
import {runCli, type CliOptions, type CliResult} from '../helpers/run-cli.js'
import {checksums, closedPort, keyOf, readRecords, readRound, stackLines, tempDir, writeDataset} from './support.js'

interface Case {
  /** Arguments after `run --dataset D --output-dir O [--force]`. */
  args: string[]
  dataset?: string
  out?: string
  force?: boolean
  /** What the message must name. */
  message: RegExp
  /** What it must tell the user to do. */
  advice?: RegExp
  as?: CliOptions
}

/** The names of the cases, fixed up front so each gets its own test; their arguments need the temp dir. */
const CASES = [
  'missing dataset',
  'dataset is a directory',
  'dataset without read permission',
  'empty dataset',
  'invalid JSON in the dataset (file:line)',
  'bad SLO YAML (file:line)',
  'unknown SLO key',
  '--concurrency 0',
  '--concurrency 2.5',
  '--concurrency abc',
  'malformed --endpoint',
  'unreachable endpoint (closed port)',
  'unreachable endpoint, --model given (fails in the preflight)',
  'existing non-empty --output-dir without --force',
] as const

describe('bad input: exit 2, a clear message, nothing destroyed (CLI)', () => {
  let sim: Simulator
  let dir: string
  let cleanup: () => Promise<void>
  let dataset: string
  /** A finished run's output directory. */
  let existing: string
  /** A directory holding a file dual-bench did not write. */
  let nonEmpty: string
  let before: {existing: Record<string, string>; nonEmpty: Record<string, string>; simRequests: number}
  const results = new Map<string, {c: Case; r: CliResult}>()

  const endpoint = () => `${sim.url}/v1/chat/completions`

  beforeAll(async () => {
    sim = await startSimulator({baseTtftMs: 1, prefillMsPerToken: 0.01, itlMs: 1})
    ;({dir, cleanup} = await tempDir('badinput'))
    dataset = await writeDataset(dir, 2)
    existing = path.join(dir, 'existing')
    const first = await runCli(['run', '--dataset', dataset, '--endpoint', endpoint(), '--max-output-tokens', '4', '--output-dir', existing])
    expect(first.code).toBe(0)

    const empty = path.join(dir, 'empty.jsonl')
    await writeFile(empty, '')
    const badJson = path.join(dir, 'bad.jsonl')
    await writeFile(badJson, '{"id": "a", "messages": [{"role": "user", "content": "hi"}]}\n{"id": "b", "messages": [\n{"id": "c", "prompt": "x"}\n')
    const badYaml = path.join(dir, 'bad-slo.yaml')
    await writeFile(badYaml, 'slo:\n  ttft_ms: 1000\n   itl_ms: [50\n')
    const unknownKey = path.join(dir, 'unknown-slo.yaml')
    await writeFile(unknownKey, 'slo:\n  ttft_ms: 1000\n  tfft_ms: 50\n')
    const aDirectory = path.join(dir, 'a-directory.jsonl')
    await mkdir(aDirectory)
    nonEmpty = path.join(dir, 'non-empty')
    await mkdir(nonEmpty)
    await writeFile(path.join(nonEmpty, 'keep.txt'), 'earlier results\n')
    const port = await closedPort()
    // A file with mode 000. Root reads it anyway, so under root that case runs the CLI as `nobody` (spawn's
    // uid option): the temp dir is made traversable and HOME points at a directory nobody may write.
    const noAccess = path.join(dir, 'no-access.jsonl')
    await writeFile(noAccess, '{"prompt": "x"}\n')
    await chmod(noAccess, 0o000)
    let asNobody: CliOptions = {}
    if (process.getuid?.() === 0) {
      const home = path.join(dir, 'home')
      await chmod(dir, 0o711)
      await mkdir(home)
      await chmod(home, 0o777)
      asNobody = {uid: 65534, gid: 65534, env: {HOME: home}}
    }

    const withSim = ['--endpoint', endpoint()]
    const closed = `http://127.0.0.1:${port}/v1/chat/completions`
    const cases: Record<(typeof CASES)[number], Case> = {
      'missing dataset': {dataset: path.join(dir, 'nope.jsonl'), args: withSim, message: /nope\.jsonl.*not found/, advice: /check the path/},
      'dataset is a directory': {dataset: aDirectory, args: withSim, message: /a-directory\.jsonl.*directory/, advice: /pass the path of a .*file/},
      'dataset without read permission': {dataset: noAccess, args: withSim, message: /no-access\.jsonl.*permission denied/, advice: /make the file readable|chmod/, as: asNobody},
      'empty dataset': {dataset: empty, args: withSim, message: /empty\.jsonl.*no (samples|records)/},
      'invalid JSON in the dataset (file:line)': {dataset: badJson, args: withSim, message: /bad\.jsonl:2: invalid JSON/, advice: /fix this record|--skip-invalid/},
      'bad SLO YAML (file:line)': {args: [...withSim, '--slo-file', badYaml], message: /bad-slo\.yaml:3: invalid YAML/, advice: /Try: /},
      'unknown SLO key': {args: [...withSim, '--slo-file', unknownKey], message: /unknown-slo\.yaml:3: unknown SLO key "tfft_ms"/, advice: /ttft_ms/},
      '--concurrency 0': {args: [...withSim, '--concurrency', '0'], message: /--concurrency.*"0"/, advice: /Try: .*--concurrency 5 10 20/},
      '--concurrency 2.5': {args: [...withSim, '--concurrency', '2.5'], message: /--concurrency.*"2\.5"/, advice: /Try: .*--concurrency/},
      '--concurrency abc': {args: [...withSim, '--concurrency', 'abc'], message: /--concurrency.*"abc"/, advice: /Try: .*--concurrency/},
      'malformed --endpoint': {args: ['--endpoint', 'htp//localhost:8000'], message: /--endpoint "htp\/\/localhost:8000" is not a URL/, advice: /Try: .*--endpoint http/},
      'unreachable endpoint (closed port)': {args: ['--endpoint', closed], message: new RegExp(`127\\.0\\.0\\.1:${port}.*(refused|cannot reach)`, 'i'), advice: /--endpoint/},
      'unreachable endpoint, --model given (fails in the preflight)': {out: path.join(dir, 'never-created'), args: ['--endpoint', closed, '--model', 'm'], message: new RegExp(`127\\.0\\.0\\.1:${port}.*(refused|cannot reach)`, 'i'), advice: /--endpoint/},
      'existing non-empty --output-dir without --force': {out: nonEmpty, force: false, args: withSim, message: /--output-dir .*not empty/, advice: /--force/},
    }

    before = {existing: await checksums(existing), nonEmpty: await checksums(nonEmpty), simRequests: sim.stats().requests}
    await Promise.all(
      CASES.map(async (name) => {
        const c = cases[name]
        const args = ['run', '--dataset', c.dataset ?? dataset, '--output-dir', c.out ?? existing, ...(c.force === false ? [] : ['--force']), ...c.args]
        results.set(name, {c, r: await runCli(args, c.as)})
      }),
    )
  })
  afterAll(async () => {
    await sim.close()
    await cleanup()
  })

  test.each(CASES)('%s: exit 2, one message naming it and the fix, no stack trace', (name) => {
    const {c, r} = results.get(name)!
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '')
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 2, stderr: expect.stringMatching(c.message)})
    expect(stackLines(r.stderr + r.stdout)).toEqual([])
    expect(lines[0]).toMatch(/^Error: /)
    if (c.advice) expect(r.stderr).toMatch(c.advice)
    // One clear message: the error line and its "Try:" hints (an indented example at most), nothing else.
    expect(lines.filter((l) => !/^Error: |^\s+Try: |^\s{2,}\S/.test(l))).toEqual([])
  })

  test('nothing was sent to the server and nothing in the existing output directories changed', async () => {
    expect(sim.stats().requests).toBe(before.simRequests)
    // A run that fails to start leaves no empty --output-dir behind.
    expect(await readdir(dir)).not.toContain('never-created')
    expect(await checksums(existing)).toEqual(before.existing)
    expect(await checksums(nonEmpty)).toEqual(before.nonEmpty)
  })

  test('--force replaces an earlier run\'s results (no appended records, no stale round files) and keeps unrelated files', async () => {
    const out = path.join(dir, 'forced')
    const args = ['run', '--dataset', dataset, '--endpoint', endpoint(), '--max-output-tokens', '4', '--output-dir', out]
    expect((await runCli([...args, '--concurrency', '1', '2'])).code).toBe(0)
    await writeFile(path.join(out, 'my-notes.txt'), 'not written by dual-bench\n')
    const again = await runCli([...args, '--concurrency', '1', '--force'])
    expect(again.code).toBe(0)
    const records = await readRecords(out)
    const keys = records.map(keyOf)
    // requests.jsonl must describe the second run only, as the round JSONs do.
    expect((await readRound(out, 1, 1)).summary.total_requests).toBe(2)
    expect(new Set(keys).size).toBe(keys.length)
    expect(records).toHaveLength(4)
    // A level the second run did not have must not show up in its report; a file dual-bench did not write stays.
    const files = await readdir(out)
    expect(files.filter((f) => /concurrency_2_|_c2_/.test(f))).toEqual([])
    expect(files).toEqual(expect.arrayContaining(['concurrency_1_round_1.json', 'concurrency_1_round_2.json', 'my-notes.txt']))
  })
})
