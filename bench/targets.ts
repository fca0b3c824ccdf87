import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import replyFrom from '@fastify/reply-from'
import Fastify, { type FastifyInstance } from 'fastify'
import { hashPassword } from '../src/auth/password.js'
import { parseConfig } from '../src/config/load.js'
import { buildGateway, type Gateway } from '../src/server/app.js'
import { createLogger } from '../src/server/logger.js'

export const BENCH_USER = { username: 'bench', password: 'bench-password-123' }

/** The upstream every case hits, in a child process of its own. */
export async function startUpstream(): Promise<{ url: string; stop(): void }> {
  const child = fork(fileURLToPath(new URL('./upstream-process.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port))
    child.once('error', reject)
  })
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() }
}

/** The peer: a bare @fastify/reply-from proxy with no authentication (the cost of the hop alone). */
export async function startBareProxy(upstream: string): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false })
  await app.register(replyFrom, { base: upstream, undici: { connections: 256, pipelining: 1 } })
  app.all('/*', (request, reply) => reply.from(request.url))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { url, app }
}

let hashed: Promise<string> | undefined

/** The real gateway (in-process, logs at warn so the load generator measures the proxy, not stdout). */
export async function startGatewayWith(upstream: string, session: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ url: string; gateway: Gateway }> {
  hashed ??= hashPassword(BENCH_USER.password)
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      upstream,
      secrets: ['bench-secret-0123456789abcdef0123456789'],
      users: [{ username: BENCH_USER.username, password_hash: await hashed, roles: ['bench'] }],
      log: { level: 'warn' },
      session: { ...session, cookie: { secure: false } },
      ...extra,
    },
    process.env,
  )
  const gateway = await buildGateway(config, { logger: createLogger('warn') })
  const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 })
  return { url, gateway }
}

export async function loginCookie(url: string): Promise<string> {
  const response = await fetch(`${url}/_gatehouse/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BENCH_USER),
  })
  const line = response.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='))
  if (response.status !== 200 || !line) throw new Error(`bench login failed: ${response.status}`)
  return line.split(';')[0]!
}
