// The least a Node proxy with a session check can do, as a floor for Gatehouse: node:http server,
// the reference's cookie check (bench-cookie.ts), and the request relayed to the upstream with
// the response streamed back. No routing, no identity headers beyond one, no metrics, no logging:
// what Gatehouse does above this is its own cost; what this costs is Node's.
// CLIENT=undici (default): undici Pool.dispatch, as Gatehouse; CLIENT=node: node:http's own
// client with a keep-alive Agent (the engine comparison in the README).
// Prints {"port": N, "cookie": "bench_sid=..."} on stdout once it listens on 127.0.0.1.
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool, type Dispatcher } from 'undici'
import { createBenchSessions } from './bench-cookie.js'

const target = process.env.UPSTREAM
if (!target || !target.startsWith('http://127.0.0.1:')) throw new Error('UPSTREAM must be http://127.0.0.1:<port>')
const sessions = createBenchSessions()

type Relay = (req: IncomingMessage, res: ServerResponse, headers: IncomingHttpHeaders) => void

function undiciRelay(): Relay {
  const pool = new Pool(target!, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 })
  return (req, res, headers) => {
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, responseHeaders) {
        const out: Record<string, string | string[]> = {}
        for (const [name, value] of Object.entries(responseHeaders)) if (name !== 'connection' && name !== 'keep-alive' && value !== undefined) out[name] = value
        res.writeHead(statusCode, out)
      },
      onResponseData(_controller, chunk) {
        res.write(chunk)
      },
      onResponseEnd() {
        res.end()
      },
      onResponseError() {
        if (!res.headersSent) res.writeHead(502, { 'content-length': '0' })
        res.end()
      },
    }
    pool.dispatch({ origin: target, path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: headers as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, handler)
  }
}

function nodeRelay(): Relay {
  const { hostname, port } = new URL(target!)
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  return (req, res, headers) => {
    const upstream = request({ host: hostname, port, path: req.url, method: req.method, headers, agent }, (answer) => {
      const out = { ...answer.headers }
      delete out.connection
      delete out['keep-alive']
      res.writeHead(answer.statusCode ?? 502, out)
      answer.pipe(res)
    })
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-length': '0' })
      res.end()
    })
    req.pipe(upstream)
  }
}

const relay = process.env.CLIENT === 'node' ? nodeRelay() : undiciRelay()

const server = createServer((req, res) => {
  const session = sessions.sessionOf(req.headers.cookie)
  if (!session) {
    res.writeHead(401, { 'content-length': '0' })
    res.end()
    return
  }
  const headers: IncomingHttpHeaders = { ...req.headers, 'x-forwarded-user': session.user }
  delete headers.cookie
  delete headers.connection
  relay(req, res, headers)
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port
  process.stdout.write(JSON.stringify({ port, cookie: sessions.cookie }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
