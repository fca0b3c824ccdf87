import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createUserDirectory, type UserDirectory } from '../../src/auth/users.js'
import { parseConfig } from '../../src/config/load.js'
import { startEchoUpstream } from '../../src/demo/echo-upstream.js'
import { StoreUnavailable } from '../../src/errors.js'
import { createMemorySharedState } from '../../src/state/memory.js'
import type { SharedState } from '../../src/state/shared-state.js'
import { ALICE, BOB, get, login, SECRET, startTestGateway, testUsers, type TestGateway } from '../helpers/gateway.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/processes.js'

/**
 * auth.login_limit (contract, "Login limits"), through the running gateway: failed form, JSON,
 * Basic and external-Basic logins count per user name and per client IP; past the limit the
 * answer is 429 with Retry-After and reason too_many_attempts, and the password is not checked.
 */

const MINUTE = 60_000
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** The internal users, with every password check counted: the evidence that a blocked attempt computes no hash. */
async function countingUsers(): Promise<{ users: UserDirectory; checks: { count: number } }> {
  const directory = await createUserDirectory(parseConfig({ upstream: 'http://127.0.0.1:1', secrets: [SECRET], users: await testUsers() }, {}))
  const checks = { count: 0 }
  return { checks, users: { size: directory.size, names: directory.names, find: directory.find, verify: (user, password) => (checks.count++, directory.verify(user, password)) } }
}

/** ROR's external service: 200 for the listed users' passwords, 401 otherwise; every call counted. */
async function startExternalService(valid: Record<string, string>): Promise<{ server: Server; url: string; calls: { count: number } }> {
  const calls = { count: 0 }
  const server = createServer((req, res) => {
    calls.count++
    const [user, password] = Buffer.from(String(req.headers.authorization ?? '').slice(6), 'base64').toString().split(':')
    res.writeHead(valid[user!] === password ? 200 : 401).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, calls, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/check` }
}

interface Outcome {
  status: number
  retryAfter: string | null
  reason: string | undefined
  body: string
}

async function outcome(response: Response): Promise<Outcome> {
  const body = await response.text()
  let reason: string | undefined
  try {
    reason = (JSON.parse(body) as { reason?: string }).reason
  } catch {
    reason = undefined
  }
  return { status: response.status, retryAfter: response.headers.get('retry-after'), reason, body }
}

/**
 * The probes: one row per way to present a password. `ip` travels in X-Forwarded-For, believed
 * because the test client is on loopback (the default `trusted_proxies`).
 */
interface Channel {
  readonly name: string
  /** The right password for `user`. */
  readonly password: (user: 'alice' | 'bob') => string
  readonly send: (base: string, user: string, password: string, ip: string) => Promise<Outcome>
  /** The status of a wrong password, and of the right one. */
  readonly wrong: number
  readonly right: number
  /** How a 429 looks: JSON with the reason, or the login page again with the message. */
  readonly html?: boolean
}

const internalPassword = (user: 'alice' | 'bob') => (user === 'alice' ? ALICE.password : BOB.password)
const EXTERNAL = { alice: 'ext-pw-alice', bob: 'ext-pw-bob' }

const CHANNELS: readonly Channel[] = [
  {
    name: 'JSON login',
    password: internalPassword,
    send: async (base, user, password, ip) => outcome((await login(base, user, password, { 'x-forwarded-for': ip })).response),
    wrong: 401,
    right: 200,
  },
  {
    name: 'form login',
    password: internalPassword,
    send: async (base, user, password, ip) =>
      outcome(await fetch(`${base}/_gatehouse/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip }, body: new URLSearchParams({ username: user, password }) })),
    wrong: 401,
    right: 302,
    html: true,
  },
  {
    name: 'Basic on a proxied request',
    password: internalPassword,
    send: async (base, user, password, ip) => outcome(await get(base, '/app', { authorization: basic(user, password), 'x-forwarded-for': ip })),
    wrong: 401,
    right: 200,
  },
  {
    name: 'external Basic on a proxied request',
    password: (user) => EXTERNAL[user],
    send: async (base, user, password, ip) => outcome(await get(base, '/app', { authorization: basic(user, password), 'x-forwarded-for': ip })),
    wrong: 401,
    right: 200,
  },
]

describe('security: login limits, per channel', () => {
  let external: Awaited<ReturnType<typeof startExternalService>>
  before(async () => (external = await startExternalService(EXTERNAL)))
  after(() => (external.server.closeAllConnections(), external.server.close()))

  for (const channel of CHANNELS) {
    describe(channel.name, () => {
      let gw: TestGateway
      let checks: { count: number }
      /** Password checks by the gateway, or calls to the external service. */
      const checked = () => (channel.name.startsWith('external') ? external.calls.count : checks.count)
      before(async () => {
        const counted = await countingUsers()
        checks = counted.checks
        const auth = channel.name.startsWith('external') ? { external_basic: { url: external.url, timeout: '2s' } } : channel.name.startsWith('Basic') ? { basic: { enabled: true } } : {}
        gw = await startTestGateway({ auth, log: { level: 'info' } }, { users: counted.users })
      })
      after(() => gw.close())

      test('5 wrong passwords, then 429 with Retry-After and too_many_attempts — the right password is not even checked; block ends after `block`', async () => {
        const start = checked()
        for (let i = 0; i < 5; i++) {
          const wrong = await channel.send(gw.url, 'alice', `wrong-${i}`, '198.51.100.1')
          assert.equal(wrong.status, channel.wrong, `failure ${i + 1}`)
        }
        assert.equal(checked() - start, 5)
        for (const ip of ['198.51.100.1', '198.51.100.2']) {
          const blocked = await channel.send(gw.url, 'alice', channel.password('alice'), ip)
          assert.equal(blocked.status, 429, `blocked from ${ip}`)
          assert.equal(blocked.retryAfter, '900')
          if (channel.html) {
            assert.match(blocked.body, /<form/)
            assert.match(blocked.body, /Too many failed sign-in attempts\. Try again in 15 minutes\./)
          } else assert.equal(blocked.reason, 'too_many_attempts')
        }
        assert.equal(checked() - start, 5, 'no password check (no hash, no external call) while blocked')
        assert.equal((await channel.send(gw.url, 'bob', channel.password('bob'), '198.51.100.1')).status, channel.right, 'another user is not blocked')

        const lines = gw.logs.map((line) => JSON.parse(line) as Record<string, unknown>)
        assert.equal(lines.filter((l) => l.event === 'login_block_started').length, 1)
        assert.ok(lines.some((l) => l.event === 'login_block_started' && l.audit === true && l.scope === 'user' && l.user === 'alice' && l.ip === '198.51.100.1'))
        assert.equal(lines.filter((l) => l.event === 'login_blocked' && l.audit === true && l.user === 'alice').length, 2)
        assert.ok(!gw.logs.some((line) => line.includes(channel.password('alice'))), 'no password in the logs')

        // Guesses during the block do not extend it.
        gw.clock.advance(10 * MINUTE)
        assert.equal((await channel.send(gw.url, 'alice', 'still-guessing', '198.51.100.1')).retryAfter, '300')
        gw.clock.advance(5 * MINUTE)
        assert.equal((await channel.send(gw.url, 'alice', channel.password('alice'), '198.51.100.1')).status, channel.right, 'in again once the block is over')
      })

      test('a success resets the user\'s count', async () => {
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 4; i++) assert.equal((await channel.send(gw.url, 'bob', `nope-${i}`, '198.51.100.3')).status, channel.wrong)
          assert.equal((await channel.send(gw.url, 'bob', channel.password('bob'), '198.51.100.3')).status, channel.right, `round ${round}`)
          // Past the Basic credential cache (60 s): a cached success is not a check, so it resets nothing.
          gw.clock.advance(61_000)
        }
      })
    })
  }
})

describe('security: login limits per client IP', () => {
  let gw: TestGateway
  before(async () => (gw = await startTestGateway({ auth: { basic: { enabled: true }, login_limit: { attempts: 5, per_ip_attempts: 8 } } })))
  after(() => gw.close())

  test('failures spread over many names from one IP block that IP for every name and channel; other IPs are not affected', async () => {
    for (let i = 0; i < 8; i++) {
      const channel = i % 2 ? 'json' : 'basic'
      const status = channel === 'json' ? (await login(gw.url, `spray${i}`, 'x', { 'x-forwarded-for': '203.0.113.50' })).response.status : (await get(gw.url, '/a', { authorization: basic(`spray${i}`, 'x'), 'x-forwarded-for': '203.0.113.50' })).status
      assert.equal(status, 401, `failure ${i + 1}`)
    }
    const blocked = (await login(gw.url, ALICE.username, ALICE.password, { 'x-forwarded-for': '203.0.113.50' })).response
    assert.equal(blocked.status, 429)
    assert.equal(blocked.headers.get('retry-after'), '900')
    assert.equal((await get(gw.url, '/a', { authorization: basic(ALICE.username, ALICE.password), 'x-forwarded-for': '203.0.113.50' })).status, 429)
    assert.equal((await login(gw.url, ALICE.username, ALICE.password, { 'x-forwarded-for': '203.0.113.51' })).response.status, 200)
    assert.ok(gw.logs.some((line) => line.includes('"event":"login_block_started"') && line.includes('"scope":"ip"')))
  })

  test('the client IP is the trusted_proxies one: X-Forwarded-For from an untrusted peer does not escape the limit', async () => {
    const strict = await startTestGateway({ trusted_proxies: [], auth: { login_limit: { attempts: 50, per_ip_attempts: 3 } } })
    try {
      for (let i = 0; i < 3; i++) assert.equal((await login(strict.url, `u${i}`, 'x', { 'x-forwarded-for': `192.0.2.${i}` })).response.status, 401)
      assert.equal((await login(strict.url, ALICE.username, ALICE.password, { 'x-forwarded-for': '192.0.2.99' })).response.status, 429, 'all from 127.0.0.1')
    } finally {
      await strict.close()
    }
  })
})

describe('security: login limits, other rules', () => {
  test('auth.login_limit: false turns it off', async () => {
    const gw = await startTestGateway({ auth: { login_limit: false } })
    try {
      for (let i = 0; i < 12; i++) assert.equal((await login(gw.url, ALICE.username, `wrong${i}`)).response.status, 401)
      assert.equal((await login(gw.url, ALICE.username, ALICE.password)).response.status, 200)
    } finally {
      await gw.close()
    }
  })

  test('the store unreachable: 503 for form, JSON and Basic logins, never a password check or a pass', async () => {
    const broken = createMemorySharedState()
    const down = async () => {
      throw new StoreUnavailable('state store down')
    }
    Object.assign(broken, { get: down, increment: down })
    const { users, checks } = await countingUsers()
    const gw = await startTestGateway({ auth: { basic: { enabled: true } } }, { users, sharedState: broken as SharedState })
    try {
      assert.equal((await login(gw.url, ALICE.username, ALICE.password)).response.status, 503)
      const form = await fetch(`${gw.url}/_gatehouse/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=alice&password=${encodeURIComponent(ALICE.password)}` })
      assert.equal(form.status, 503)
      const viaBasic = await get(gw.url, '/app', { authorization: basic(ALICE.username, ALICE.password) })
      assert.equal(viaBasic.status, 503)
      assert.equal(checks.count, 0)
      assert.equal(gw.received.length, 0)
    } finally {
      await gw.close()
    }
  })

  test('Basic: the successful-credential cache still serves repeat requests with no password check and no store round trip', async () => {
    const state = createMemorySharedState()
    let stateCalls = 0
    const counted = new Proxy(state, { get: (target, key) => (typeof target[key as keyof SharedState] === 'function' && key !== 'close' ? (...args: unknown[]) => (stateCalls++, (target[key as keyof SharedState] as (...a: unknown[]) => unknown)(...args)) : target[key as keyof SharedState]) })
    const { users, checks } = await countingUsers()
    const gw = await startTestGateway({ auth: { basic: { enabled: true } } }, { users, sharedState: counted })
    try {
      assert.equal((await get(gw.url, '/a', { authorization: basic(ALICE.username, ALICE.password) })).status, 200)
      const afterFirst = stateCalls
      assert.ok(afterFirst > 0, 'the first (uncached) check went through the limiter')
      for (let i = 0; i < 20; i++) assert.equal((await get(gw.url, '/a', { authorization: basic(ALICE.username, ALICE.password) })).status, 200)
      assert.equal(checks.count, 1)
      assert.equal(stateCalls, afterFirst)
      // Twenty parallel first requests with new credentials: one check, one attempt.
      const results = await Promise.all(Array.from({ length: 20 }, () => get(gw.url, '/a', { authorization: basic(BOB.username, BOB.password) })))
      assert.deepEqual(results.map((r) => r.status), Array(20).fill(200))
      assert.equal(checks.count, 2)
    } finally {
      await gw.close()
    }
  })
})

describe('security: internal and external Basic both on', () => {
  test('an external-service outage is 503 external_auth_unavailable, not 401 invalid_credentials; internal users still get in', async () => {
    const service = await startExternalService(EXTERNAL)
    const gw = await startTestGateway({ auth: { basic: { enabled: true }, external_basic: { url: service.url, timeout: '1s' } } })
    try {
      assert.equal((await get(gw.url, '/a', { authorization: basic('erin', 'x') })).status, 401, 'service up: a wrong password is a 401')
      service.server.closeAllConnections()
      await new Promise<void>((resolve) => service.server.close(() => resolve()))
      for (const [user, password] of [['erin', 'pw'], [ALICE.username, 'not-her-password']] as const) {
        const down = await get(gw.url, '/a', { authorization: basic(user, password) })
        assert.equal(down.status, 503, user)
        assert.equal(((await down.json()) as { reason: string }).reason, 'external_auth_unavailable')
      }
      assert.equal((await get(gw.url, '/a', { authorization: basic(ALICE.username, ALICE.password) })).status, 200, 'the internal check alone decides for internal users')
    } finally {
      await gw.close()
    }
  })

  test('a user known only to the external service is not counted as failing the internal check', async () => {
    const service = await startExternalService({ erin: 'pw-erin' })
    const gw = await startTestGateway({ auth: { basic: { enabled: true }, external_basic: { url: service.url, cache_ttl: 0 }, login_limit: { attempts: 3, per_ip_attempts: 3 } } })
    try {
      for (let i = 0; i < 10; i++) assert.equal((await get(gw.url, '/a', { authorization: basic('erin', 'pw-erin') })).status, 200, `request ${i + 1}`)
      for (let i = 0; i < 3; i++) assert.equal((await get(gw.url, '/a', { authorization: basic('erin', `bad${i}`) })).status, 401)
      assert.equal((await get(gw.url, '/a', { authorization: basic('erin', 'pw-erin') })).status, 429)
    } finally {
      await gw.close()
      service.server.closeAllConnections()
      service.server.close()
    }
  })
})

describe('security: login limits shared by two gateway processes on one SQLite file', () => {
  let dir: string
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>
  let gateways: GatewayProcess[] = []
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-limits-'))
    upstream = await startEchoUpstream()
    const config = { listen: '127.0.0.1:0', upstream: upstream.url, secrets: [SECRET], users: await testUsers(), log: { level: 'warn' }, auth: { basic: { enabled: true } }, session: { storage: 'sqlite', sqlite: { path: join(dir, 'sessions.db') }, cookie: { secure: false } } }
    gateways = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)])
  })
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()))
    await upstream.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('failures on either process count together; both then refuse, and a success on one resets the count for both', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess]
    for (let i = 0; i < 4; i++) assert.equal((await login(i % 2 ? a.url : b.url, BOB.username, `wrong${i}`)).response.status, 401)
    assert.equal((await login(a.url, BOB.username, BOB.password)).response.status, 200, 'reset on a')
    for (let i = 0; i < 4; i++) assert.equal((await get(i % 2 ? a.url : b.url, '/x', { authorization: basic(BOB.username, `wrong${i}`) })).status, 401, 'counts from zero again on b too')

    for (let i = 0; i < 5; i++) assert.equal((await login(i % 2 ? a.url : b.url, ALICE.username, `wrong${i}`)).response.status, 401)
    for (const gateway of [a, b]) {
      const blocked = (await login(gateway.url, ALICE.username, ALICE.password)).response
      assert.equal(blocked.status, 429)
      assert.ok(Number(blocked.headers.get('retry-after')) > 890)
      assert.equal((await get(gateway.url, '/x', { authorization: basic(ALICE.username, ALICE.password) })).status, 429)
    }
  })
})
