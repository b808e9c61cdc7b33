import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {SimEngine, type SimStats} from './engine.js'
import {resolveSimOptions, type SimOptions} from './options.js'

/** A running simulator. */
export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:43123 (append /v1/chat/completions etc.). */
  url: string
  port: number
  /** A snapshot of the server's own counters. */
  stats(): SimStats
  /** Zeroes the counters (inFlight is kept; maxInFlight restarts from it). The cache is untouched. */
  resetStats(): void
  /** Cancels in-flight requests, closes every socket and stops listening. */
  close(): Promise<void>
}

/** Servers behind load balancers keep idle sockets longer than clients do, which avoids reuse-after-close resets. */
const KEEP_ALIVE_MS = 65_000
/** Thousands of clients may connect at once; the kernel caps this at somaxconn. */
const LISTEN_BACKLOG = 4096

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
  res.end(body)
}

/** Reads and discards a request body, then answers; for endpoints whose body we ignore. */
function afterBody(req: IncomingMessage, fn: () => void): void {
  req.resume()
  req.on('end', fn)
}

/** A host clients can dial: a wildcard listen address becomes loopback; IPv6 gets brackets. */
function urlHost(listenHost: string): string {
  if (listenHost === '0.0.0.0') return '127.0.0.1'
  if (listenHost === '::') return '[::1]'
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost
}

/**
 * Starts the OpenAI-compatible simulator (node:http only). Endpoints: GET /v1/models, POST
 * /v1/chat/completions, POST /v1/completions, POST /v1/responses, GET /metrics, POST /reset_prefix_cache (vLLM), GET|POST
 * /flush_cache (SGLang), GET /health, GET /sim/stats.
 */
export async function startSimulator(options: SimOptions = {}): Promise<Simulator> {
  const opts = resolveSimOptions(options)
  const engine = new SimEngine(opts)
  const created = Math.floor(Date.now() / 1000)

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]
    const method = req.method ?? 'GET'
    const allow = (...methods: string[]) => {
      if (methods.includes(method)) return true
      res.setHeader('allow', methods.join(', '))
      sendJson(res, 405, {detail: 'Method Not Allowed'})
      req.resume()
      return false
    }
    switch (path) {
      case '/v1/chat/completions':
        if (allow('POST')) engine.handle('chat', req, res)
        return
      case '/v1/completions':
        if (allow('POST')) engine.handle('completions', req, res)
        return
      case '/v1/responses': // OpenAI Responses API: the same lifecycle, its wire format in responses.ts
        if (allow('POST')) engine.handle('responses', req, res)
        return
      case '/v1/models':
        if (allow('GET')) {
          sendJson(res, 200, {object: 'list', data: [{id: opts.model, object: 'model', created, owned_by: 'dual-bench', root: opts.model, parent: null, max_model_len: 131072}]})
        }
        return
      case '/metrics':
        if (allow('GET')) {
          engine.countScrape()
          engine.metrics.text().then(
            (text) => {
              res.writeHead(200, {'content-type': engine.metrics.contentType})
              res.end(text)
            },
            (error: Error) => sendJson(res, 500, {error: {message: `metrics collection failed: ${error.message}`, type: 'server_error'}}),
          )
        }
        return
      case '/reset_prefix_cache':
        if (allow('POST')) afterBody(req, () => {
          engine.resetCache()
          res.writeHead(200).end()
        })
        return
      case '/flush_cache':
        if (allow('GET', 'POST')) afterBody(req, () => {
          engine.resetCache()
          res.writeHead(200, {'content-type': 'text/plain'}).end('Cache flushed.\n')
        })
        return
      case '/health':
        if (allow('GET')) res.writeHead(200).end()
        return
      case '/sim/stats':
        if (allow('GET')) sendJson(res, 200, engine.stats())
        return
      default:
        req.resume()
        sendJson(res, 404, {detail: 'Not Found'})
    }
  }

  const server = createServer({keepAliveTimeout: KEEP_ALIVE_MS}, route)
  // A client that resets mid-request must not become an unhandled 'error'.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({host: opts.host, port: opts.port, backlog: LISTEN_BACKLOG}, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = urlHost(opts.host)

  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}`,
    port,
    stats: () => engine.stats(),
    resetStats: () => engine.resetStats(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        engine.shutdown()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
