// The least a Node proxy with a session check can do, as a floor for Gatehouse: node:http server,
// the reference's HMAC cookie + in-process Map check, and undici Pool.dispatch to the upstream with
// the response streamed back. No routing, no identity headers beyond one, no metrics, no logging:
// what Gatehouse does above this is its own cost; what this costs is Node's.
// Prints {"port": N, "cookie": "bench_sid=..."} on stdout once it listens on 127.0.0.1.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool, type Dispatcher } from 'undici'

const target = process.env.UPSTREAM
if (!target || !target.startsWith('http://127.0.0.1:')) throw new Error('UPSTREAM must be http://127.0.0.1:<port>')

const secret = randomBytes(32)
const sessions = new Map<string, string>()
const sign = (id: string) => createHmac('sha256', secret).update(id).digest('base64url')
for (let i = 0; i < 5000; i++) sessions.set(randomBytes(24).toString('base64url'), `user${i}`)
const [benchId] = sessions.keys()

function userOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined
  const start = cookieHeader.indexOf('bench_sid=')
  if (start < 0) return undefined
  let end = cookieHeader.indexOf(';', start)
  if (end < 0) end = cookieHeader.length
  const value = cookieHeader.slice(start + 'bench_sid='.length, end).trim()
  const dot = value.lastIndexOf('.')
  if (dot <= 0) return undefined
  const id = value.slice(0, dot)
  const given = Buffer.from(value.slice(dot + 1))
  const expected = Buffer.from(sign(id))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  return sessions.get(id)
}

const pool = new Pool(target, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 })

const server = createServer((req, res) => {
  const user = userOf(req.headers.cookie)
  if (!user) {
    res.writeHead(401, { 'content-length': '0' })
    res.end()
    return
  }
  const headers: IncomingHttpHeaders = { ...req.headers, 'x-forwarded-user': user }
  delete headers.cookie
  delete headers.connection
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
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port
  process.stdout.write(JSON.stringify({ port, cookie: `bench_sid=${benchId}.${sign(benchId!)}` }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
