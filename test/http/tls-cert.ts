import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI (not a test file). */
export function selfSignedCert(): {key: string; cert: string} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dual-bench-tls-'))
  try {
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {stdio: 'ignore'})
    return {key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8')}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}
