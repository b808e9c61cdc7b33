import {fixed} from '../output/format.js'
import type {CheckResult} from './run-check.js'

/** Where the endpoint, key and model came from, for the header lines. */
export interface CheckSources {
  endpoint: 'flag' | 'env' | 'simulator'
  /** The flag's URL was a base URL completed with the API path. */
  completed?: boolean
  apiKey: 'flag' | 'env' | 'dotenv' | 'none'
}

const ENDPOINT_SOURCE = {flag: 'from --endpoint', env: 'from MODEL_URL in ./.env', simulator: 'the built-in simulator: no --endpoint and no MODEL_URL in ./.env'}
const KEY_SOURCE = {flag: 'sent (from --api-key)', env: 'sent (from OPENAI_API_KEY)', dotenv: 'sent (from ./.env)', none: 'none'}
const MARK = {ok: '✓', warn: '!', error: '✗'}

/** The human report: what was checked, what came back, then the diagnosis. Pure; never contains the key. */
export function renderCheck(result: CheckResult, sources: CheckSources): string {
  const rows: [string, string][] = []
  rows.push(['Endpoint', `${result.endpoint} (${result.api} API, ${ENDPOINT_SOURCE[sources.endpoint]}${sources.completed ? ', API path added' : ''})`])
  rows.push(['API key', KEY_SOURCE[sources.apiKey]])
  const m = result.models
  rows.push(['Models', m.ok ? `${m.ids.length > 0 ? m.ids.join(', ') : '(none listed)'}  [GET ${new URL(m.url).pathname}, ${fixed(m.ms, 0)} ms]` : 'unavailable (see below)'])
  if (result.model !== undefined) {
    const from = {flag: 'from --model', env: 'from MODEL_NAME in ./.env', server: 'first model the server lists'}[result.modelSource ?? 'flag']
    rows.push(['Model', `${result.model} (${from})`])
  }
  const r = result.request
  if (r) {
    rows.push(['Request', r.ok ? (r.streamed ? 'streamed OK' : 'answered OK, but not as a stream') : `failed (${r.error?.category ?? 'error'}${r.error?.httpStatus ? ` HTTP ${r.error.httpStatus}` : ''})`])
    if (r.ok) {
      rows.push(['TTFT', r.ttftMs !== undefined ? `${fixed(r.ttftMs, 1)} ms` : '- (not streamed)'])
      rows.push(['Latency', `${fixed(r.latencyMs, 1)} ms`])
      const tokens = [`input ${r.inputTokens ?? '-'}`, `output ${r.outputTokens ?? '-'}${r.outputTokensSource === 'chunks' ? ' (counted chunks)' : ''}`, `cached ${r.cachedTokens ?? '-'}`]
      rows.push(['Tokens', tokens.join(', ')])
      if (r.finishReason) rows.push(['Finish', r.finishReason])
      rows.push(['Reply', r.outputPreview !== undefined ? JSON.stringify(r.outputPreview.trim()) : '(no text)'])
    }
  } else {
    rows.push(['Request', 'not sent'])
  }
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)
  lines.push('')
  for (const d of result.diagnosis) lines.push(`${MARK[d.level]} ${d.text}`)
  return lines.join('\n')
}
