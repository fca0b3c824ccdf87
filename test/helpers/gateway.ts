import { hashPassword } from '../../src/auth/password.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { startEchoUpstream, type EchoRequest } from '../../src/demo/echo-upstream.js'
import { buildGateway, type Gateway, type GatewayDeps } from '../../src/server/app.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { Writable } from 'node:stream'
import { randomUUID } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const SECRET = 'test-secret-0123456789abcdef0123456789abcdef'
export const ALICE = { username: 'alice', password: 'correct horse battery staple', roles: ['admin', 'ops'], email: 'alice@example.com' }
export const BOB = { username: 'bob', password: 'hunter2-but-longer', roles: ['viewer'] }

let cachedUsers: Promise<unknown[]> | undefined
/** Users with real argon2id hashes (hashed once per test process). */
export function testUsers(): Promise<unknown[]> {
  cachedUsers ??= Promise.all(
    [ALICE, BOB].map(async (user) => ({ username: user.username, password_hash: await hashPassword(user.password), roles: user.roles, ...('email' in user ? { email: user.email } : {}) })),
  )
  return cachedUsers
}

export interface TestGateway {
  url: string
  upstreamUrl: string
  gateway: Gateway
  config: Config
  clock: ManualClock
  /** Requests the upstream received, in order. */
  received: EchoRequest[]
  /** Log lines written by the gateway. */
  logs: string[]
  close(): Promise<void>
}

/** The real gateway on 127.0.0.1:<ephemeral> in front of a real echo upstream, with a manual clock. */
export async function startTestGateway(overrides: Record<string, unknown> = {}, deps: GatewayDeps = {}): Promise<TestGateway> {
  const received: EchoRequest[] = []
  const upstream = await startEchoUpstream({ onRequest: (request) => received.push(request) })
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      upstream: upstream.url,
      secrets: [SECRET],
      users: await testUsers(),
      log: { level: 'info' },
      ...overrides,
      session: withStateFile({ storage: 'memory', ...((overrides.session as object) ?? {}) }),
    },
    {},
  )
  const logs: string[] = []
  const clock = (deps.clock as ManualClock | undefined) ?? new ManualClock(Date.now())
  const logger = createLogger(config.log.level, new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }))
  const gateway = await buildGateway(config, { clock, logger, ...deps })
  const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
  return {
    url,
    upstreamUrl: upstream.url,
    gateway,
    config,
    clock,
    received,
    logs,
    async close() {
      await gateway.close()
      await upstream.close()
      const stateFile = (config.session.storage === 'cookie' && config.session.sqlite.path.includes('gh-test-state-')) ? config.session.sqlite.path : undefined
      if (stateFile) for (const suffix of ['', '-wal', '-shm']) rmSync(stateFile + suffix, { force: true })
    },
  }
}

/**
 * Cookie storage keeps its shared state (login-limit counters, …) in SQLite at `sqlite.path`,
 * by default ./gatehouse-sessions.db: a test gets a file of its own instead, so counters never
 * carry over between test files or runs.
 */
function withStateFile(session: Record<string, unknown>): Record<string, unknown> {
  if (session.storage !== 'cookie' || session.sqlite !== undefined) return session
  return { ...session, sqlite: { path: join(tmpdir(), `gh-test-state-${randomUUID()}.db`) } }
}

/** Posts JSON credentials; returns the response and the session cookie value (if any). */
export async function login(base: string, username: string, password: string, headers: Record<string, string> = {}): Promise<{ response: Response; cookie: string | undefined }> {
  const response = await fetch(`${base}/_gatehouse/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
    redirect: 'manual',
  })
  return { response, cookie: sessionCookie(response) }
}

/** The `gatehouse_session=value` pair from a response's Set-Cookie, if it sets a non-empty one. */
export function sessionCookie(response: Response, name = 'gatehouse_session'): string | undefined {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';')
    const [cookieName, value] = pair!.split('=')
    if (cookieName === name && value) return `${name}=${value}`
  }
  return undefined
}

export function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { headers, redirect: 'manual' })
}
