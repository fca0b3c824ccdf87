// The peer stack: express + express-session (its MemoryStore) + http-proxy-middleware, with a
// keep-alive agent to the upstream. POST /login {"username"} starts a session; every other
// request needs one (401 otherwise) and is proxied with the user in X-Forwarded-User.
// Prints {"port": N} on stdout once it listens on 127.0.0.1.
import { randomBytes } from 'node:crypto'
import { Agent } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import session from 'express-session'
import { createProxyMiddleware } from 'http-proxy-middleware'

declare module 'express-session' {
  interface SessionData {
    user?: string
  }
}

const target = process.env.UPSTREAM
if (!target || !target.startsWith('http://127.0.0.1:')) throw new Error('UPSTREAM must be http://127.0.0.1:<port>')

const app = express()
app.disable('x-powered-by')
app.use(session({ secret: randomBytes(32).toString('hex'), resave: false, saveUninitialized: false, cookie: { httpOnly: true, secure: false, sameSite: 'strict' } }))
app.post('/login', express.json(), (req, res) => {
  req.session.regenerate((error) => {
    if (error) {
      res.status(500).end()
      return
    }
    req.session.user = String((req.body as { username?: unknown }).username ?? 'bench')
    res.json({ ok: true })
  })
})
app.use((req, res, next) => {
  if (!req.session.user) return void res.status(401).json({ error: 'unauthorized' })
  next()
})
app.use(
  createProxyMiddleware({
    target,
    agent: new Agent({ keepAlive: true, maxSockets: 256 }),
    on: {
      proxyReq: (proxyReq, req) => {
        proxyReq.setHeader('x-forwarded-user', (req as express.Request).session.user!)
        proxyReq.removeHeader('cookie')
      },
    },
  }),
)
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n')
})
server.keepAliveTimeout = 60_000
process.on('SIGTERM', () => process.exit(0))
