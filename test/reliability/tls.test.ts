/**
 * Issue #5, part 5: TLS. Against a server with a self-signed certificate, a run without --insecure stops
 * before measuring (exit 2) with a message about the certificate that points at --insecure; with --insecure
 * it works, and says so on stderr and in run.json.
 *
 * The certificate is made at test time with the openssl CLI; without openssl these tests are skipped (the
 * skip is visible in jest's output as "skipped", and the reason is the describe title).
 */
import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {selfSignedCert} from '../http/tls-cert.js'
import {jsonResponse, openAiStream, startScriptedServer, type ScriptedServer} from '../helpers/scripted-server.js'
import {runCli} from '../helpers/run-cli.js'
import {readRecords, readRound, readRunJson, stackLines, tempDir, writeDataset} from './support.js'

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const describeTls = hasOpenssl() ? describe : describe.skip

describeTls('TLS with a self-signed certificate (CLI; needs the openssl CLI, skipped without it)', () => {
  let server: ScriptedServer
  let dir: string
  let cleanup: () => Promise<void>
  let dataset: string

  beforeAll(async () => {
    server = await startScriptedServer(
      (req) => (req.method === 'GET' ? jsonResponse(200, {object: 'list', data: [{id: 'm', object: 'model'}]}) : {body: openAiStream({tokens: 3, usage: {prompt_tokens: 5, completion_tokens: 3}})}),
      {tls: selfSignedCert()},
    )
    ;({dir, cleanup} = await tempDir('tls'))
    dataset = await writeDataset(dir, 2)
  })
  afterAll(async () => {
    await server.close()
    await cleanup()
  })

  const args = (out: string, extra: string[]) => ['run', '--dataset', dataset, '--endpoint', server.endpoint().toString(), '--output-dir', path.join(dir, out), ...extra]

  test.each([
    ['the model list (no --model)', []],
    ['the preflight request (--model given)', ['--model', 'm']],
  ])('without --insecure, %s fails: exit 2, a certificate message that names --insecure, nothing measured', async (_name, extra) => {
    const before = server.requests.filter((r) => r.method === 'POST').length
    const r = await runCli(args(`strict${extra.length}`, extra))
    expect(r.code).toBe(2)
    expect(stackLines(r.stderr)).toEqual([])
    expect(r.stderr).toMatch(/^Error: /)
    expect(r.stderr).toMatch(/certificate|CERT/i)
    expect(r.stderr).toMatch(/--insecure/)
    // The handshake failed, so the server never saw a request.
    expect(server.requests.filter((x) => x.method === 'POST').length).toBe(before)
  })

  test('with --insecure the run works, and says so on stderr and in run.json', async () => {
    const r = await runCli(args('insecure', ['--insecure']))
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.stringMatching(/Warning: --insecure: TLS certificates are NOT verified/)})
    const out = path.join(dir, 'insecure')
    const run = await readRunJson(out)
    expect(run.configuration.insecure).toBe(true)
    expect((await readRecords(out)).every((x) => x.ok)).toBe(true)
    expect((await readRound(out, 1, 2)).summary.successful_requests).toBe(2)
  })
})
