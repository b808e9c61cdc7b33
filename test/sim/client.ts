import {request} from 'node:http'
import {performance} from 'node:perf_hooks'

/** What a plain node:http client saw of one response. */
export interface Seen {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** `data:` payloads in order, including '[DONE]'. */
  data: string[]
  /** Parsed JSON payloads (undefined where the payload was not JSON). */
  json: Array<any>
  sentAt: number
  /** performance.now() when the first non-empty content/text chunk (or Responses text delta) arrived. */
  firstTokenAt?: number
  /** Epoch ms (timeOrigin + now) of the same moment, comparable with sim_timing. */
  firstTokenEpochMs?: number
  endedAt: number
  /** Set when the connection broke before the response ended. */
  error?: string
}

/** Chat delta content, completions text, or a Responses API text delta. */
const contentOf = (j: any): string | undefined =>
  j?.choices?.[0]?.delta?.content ?? j?.choices?.[0]?.text ?? (j?.type === 'response.output_text.delta' ? j.delta : undefined)

/**
 * Sends one request and collects the response, splitting SSE events by blank lines. Written with node:http
 * (not the product's client) so the simulator's tests do not depend on code under test elsewhere.
 */
export function send(base: string, path: string, body?: unknown, opts: {method?: string; raw?: string; onFirstToken?: (abort: () => void) => void} = {}): Promise<Seen> {
  return new Promise((resolve) => {
    const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body))
    const url = new URL(path, base)
    const sentAt = performance.now()
    const seen: Seen = {status: 0, headers: {}, body: '', data: [], json: [], sentAt, endedAt: 0}
    let buffer = ''
    let settled = false
    const settle = (error?: string) => {
      if (settled) return
      settled = true
      seen.endedAt = performance.now()
      if (error) seen.error = error
      resolve(seen)
    }
    const req = request(url, {method: opts.method ?? (payload === undefined ? 'GET' : 'POST'), headers: payload === undefined ? {} : {'content-type': 'application/json'}}, (res) => {
      seen.status = res.statusCode ?? 0
      seen.headers = res.headers
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        seen.body += chunk
        buffer += chunk
        let idx
        while ((idx = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, idx)
          buffer = buffer.slice(idx + 2)
          for (const line of event.split('\n')) {
            if (!line.startsWith('data: ')) continue
            const d = line.slice(6)
            seen.data.push(d)
            let j: any
            try {
              j = JSON.parse(d)
            } catch {
              j = undefined
            }
            seen.json.push(j)
            if (seen.firstTokenAt === undefined && contentOf(j)) {
              seen.firstTokenAt = performance.now()
              seen.firstTokenEpochMs = performance.timeOrigin + seen.firstTokenAt
              opts.onFirstToken?.(() => {
                req.destroy()
                settle('aborted by test')
              })
            }
          }
        }
      })
      // Settle on 'close' (not on 'aborted'/'error') so every chunk already received has been seen.
      res.on('error', (e) => {
        seen.error ??= e.message
      })
      res.on('close', () => settle(res.complete ? seen.error : seen.error ?? 'incomplete response'))
    })
    req.on('error', (e) => settle(e.message))
    if (payload !== undefined) req.write(payload)
    req.end()
  })
}

/** TTFT in ms as the client saw it. */
export const ttft = (s: Seen): number => (s.firstTokenAt as number) - s.sentAt

/** The streamed text (content or text deltas concatenated). */
export const streamedText = (s: Seen): string => s.json.map((j) => contentOf(j) ?? '').join('')

/** The content chunks (non-empty content or text). */
export const contentChunks = (s: Seen): any[] => s.json.filter((j) => contentOf(j))

/** A prompt of `n` simulator tokens (one word each), varied by `tag` so different tags share nothing. */
export const words = (n: number, tag = 'w'): string => Array.from({length: n}, (_, i) => `${tag}${i % 101}`).join(' ')

/** Polls `check` until it is true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  const until = performance.now() + ms
  while (performance.now() < until) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 10))
  }
  return check()
}

/** Minimal Prometheus text reader for tests: "name{labels}" → value, samples only. */
export function promSamples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)))
  }
  return out
}
