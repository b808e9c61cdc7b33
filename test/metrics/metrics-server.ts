/**
 * A real /metrics endpoint on 127.0.0.1:0 for probe and prom-check tests. The body is rendered when the
 * request ARRIVES and sent after `delayMs`, like a server that reads its counters and then writes a large
 * response; that is what makes "which scrape saw which increment" observable.
 */
import {createServer, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export type Mode = 'ok' | 'hang' | 'status500' | 'html'

export interface MetricsServer {
  url: string
  /** Requests received so far. */
  scrapes: number
  delayMs: number
  mode: Mode
  close(): Promise<void>
}

export async function startMetricsServer(opts: {render: () => string | Promise<string>; contentType?: string; delayMs?: number}): Promise<MetricsServer> {
  const hanging = new Set<ServerResponse>()
  const state = {scrapes: 0, delayMs: opts.delayMs ?? 0, mode: 'ok' as Mode}
  const server: Server = createServer(async (req, res) => {
    state.scrapes++
    if (state.mode === 'hang') {
      hanging.add(res)
      return
    }
    const body = state.mode === 'html' ? '<!DOCTYPE html>\n<html><body>hello</body></html>\n' : await opts.render()
    const delay = state.delayMs
    setTimeout(() => {
      if (state.mode === 'status500') {
        res.writeHead(500, {'content-type': 'text/plain'}).end('boom')
        return
      }
      res.writeHead(200, {'content-type': state.mode === 'html' ? 'text/html' : (opts.contentType ?? 'text/plain; version=0.0.4; charset=utf-8')})
      res.end(body)
    }, delay)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    get scrapes() {
      return state.scrapes
    },
    get delayMs() {
      return state.delayMs
    },
    set delayMs(value: number) {
      state.delayMs = value
    },
    get mode() {
      return state.mode
    },
    set mode(value: Mode) {
      state.mode = value
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
