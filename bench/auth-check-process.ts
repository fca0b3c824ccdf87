// The reference's auth endpoint: the least a Node cookie check can do for nginx `auth_request`.
// The cookie is checked as bench-cookie.ts does, and the identity goes back in headers; 401 otherwise.
// Prints {"port": N, "cookie": "bench_sid=..."} on stdout once it listens on 127.0.0.1.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createBenchSessions } from './bench-cookie.js'

const sessions = createBenchSessions()

// BODY=1 (keep-alive check only): answer with a small JSON body, as a JSON API would.
const body = process.env.BODY === '1' ? Buffer.from('{"user":"bench","roles":["bench"]}') : Buffer.alloc(0)

const server = createServer((req, res) => {
  const session = sessions.sessionOf(req.headers.cookie)
  if (!session) {
    res.writeHead(401, { 'content-length': '0' })
    res.end()
    return
  }
  res.writeHead(200, { 'x-forwarded-user': session.user, 'x-forwarded-groups': session.roles, 'content-length': String(body.length) })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port
  process.stdout.write(JSON.stringify({ port, cookie: sessions.cookie }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
