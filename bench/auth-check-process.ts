// The reference's auth endpoint: the least a Node cookie check can do for nginx `auth_request`.
// A cookie `bench_sid=<id>.<HMAC-SHA256(id) base64url>` is verified (constant time), the id is
// looked up in an in-process Map, and the identity goes back in headers; 401 otherwise.
// Prints {"port": N, "cookie": "bench_sid=..."} on stdout once it listens on 127.0.0.1.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const secret = randomBytes(32)
const sessions = new Map<string, { user: string; roles: string }>()
const sign = (id: string) => createHmac('sha256', secret).update(id).digest('base64url')

// A few thousand sessions so the Map is not trivially small; the bench uses one of them.
for (let i = 0; i < 5000; i++) sessions.set(randomBytes(24).toString('base64url'), { user: `user${i}`, roles: 'bench' })
const [benchId] = sessions.keys()

function sessionOf(cookieHeader: string | undefined): { user: string; roles: string } | undefined {
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

// BODY=1 (keep-alive check only): answer with a small JSON body, as a JSON API would.
const body = process.env.BODY === '1' ? Buffer.from('{"user":"bench","roles":["bench"]}') : Buffer.alloc(0)

const server = createServer((req, res) => {
  const session = sessionOf(req.headers.cookie)
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
  process.stdout.write(JSON.stringify({ port, cookie: `bench_sid=${benchId}.${sign(benchId!)}` }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
