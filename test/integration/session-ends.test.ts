import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { createUserDirectory } from '../../src/auth/users.js'
import { parseConfig } from '../../src/config/load.js'
import { ManualClock } from '../../src/clock.js'
import { ALICE, BOB, get, login, SECRET, sessionCookie, startTestGateway, testUsers, type TestGateway } from '../helpers/gateway.js'
import { testKeys } from '../helpers/keys.js'
import { DATABASE_URL, dropPostgresTable, dropRedisPrefix, postgresSkip, REDIS_URL, redisSkip, uniqueName } from '../helpers/services.js'

const TOKEN = 'admin-token-0123456789abcdef0123456789'
const dirs: string[] = []
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ends-'))
  dirs.push(dir)
  return join(dir, 'sessions.db')
}
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

/** The API answer to a cookie: status, reason and the Gatehouse-Session-End header. */
async function refusal(gw: TestGateway, cookie: string, path = '/app'): Promise<{ status: number; reason: string | undefined; header: string | null }> {
  const response = await get(gw.url, path, { cookie })
  const body = response.status === 401 ? ((await response.json()) as { reason?: string }) : {}
  return { status: response.status, reason: body.reason, header: response.headers.get('gatehouse-session-end') }
}
const ended = (reason: string) => ({ status: 401, reason, header: reason })

const admin = (gw: TestGateway, path: string, init: RequestInit = {}) =>
  fetch(`${gw.url}/_gatehouse/admin${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } })

describe('session-end reasons', () => {
  test('idle timeout and lifespan: 401 session_expired, also after cleanup removed the record; no cookie stays no_credentials', async () => {
    const gw = await startTestGateway({ session: { idle_timeout: '10m', lifespan: '1h', rolling_timeout: 0 } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      gw.clock.advance(11 * 60_000)
      assert.deepEqual(await refusal(gw, cookie!), ended('session_expired'))
      const second = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      for (let i = 0; i < 6; i++) (gw.clock.advance(9 * 60_000), assert.equal((await get(gw.url, '/app', { cookie: second })).status, 200))
      gw.clock.advance(7 * 60_000)
      assert.deepEqual(await refusal(gw, second), ended('session_expired'), 'lifespan over however busy')
      const third = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      gw.clock.advance(2 * 3600_000)
      await gw.gateway.store.admin!.removeExpired(gw.clock.now(), 100)
      assert.deepEqual(await refusal(gw, third), ended('session_expired'), 'the record is gone: still expired, not unknown')
      const none = await get(gw.url, '/app')
      assert.equal(((await none.json()) as { reason: string }).reason, 'no_credentials')
      assert.equal(none.headers.get('gatehouse-session-end'), null)
    } finally {
      await gw.close()
    }
  })

  test('logout, admin invalidation and max_sessions: session_revoked and session_evicted; a forged cookie is unknown_session', async () => {
    const gw = await startTestGateway({ admin: { token: TOKEN }, session: { max_sessions: 1 } })
    try {
      const a = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: a } })
      assert.deepEqual(await refusal(gw, a), ended('session_revoked'))
      const b1 = (await login(gw.url, BOB.username, BOB.password)).cookie!
      const b2 = (await login(gw.url, BOB.username, BOB.password)).cookie!
      assert.deepEqual(await refusal(gw, b1), ended('session_evicted'))
      const invalidated = await admin(gw, '/sessions/_invalidate', { method: 'POST', body: JSON.stringify({ match: 'query', query: { username: 'bob' } }) })
      assert.deepEqual(await invalidated.json(), { total: 1 })
      assert.deepEqual(await refusal(gw, b2), ended('session_revoked'))
      const c = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      const listed = (await (await admin(gw, '/sessions?username=alice')).json()) as { sessions: { id: string }[] }
      assert.equal((await admin(gw, `/sessions/${listed.sessions[0]!.id}`, { method: 'DELETE' })).status, 200)
      assert.deepEqual(await refusal(gw, c), ended('session_revoked'))
      const forged = `${c.slice(0, -4)}AAAA`
      assert.deepEqual(await refusal(gw, forged), ended('unknown_session'))
      assert.deepEqual(await refusal(gw, 'gatehouse_session=garbage'), ended('unknown_session'))
    } finally {
      await gw.close()
    }
  })

  test('browsers get the login redirect with the header; forward-auth answers carry it; /session says why', async () => {
    const gw = await startTestGateway({ session: { idle_timeout: '10m' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
      const page = await get(gw.url, '/app', { cookie: cookie!, accept: 'text/html' })
      assert.equal(page.status, 302)
      assert.match(page.headers.get('location')!, /\/_gatehouse\/login\?rd=/)
      assert.equal(page.headers.get('gatehouse-session-end'), 'session_revoked')
      const nginx = await get(gw.url, '/_gatehouse/auth', { cookie: cookie!, 'x-original-url': 'http://app.test/x' })
      assert.equal(nginx.status, 401)
      assert.equal(nginx.headers.get('gatehouse-reason'), 'session_revoked')
      assert.equal(nginx.headers.get('gatehouse-session-end'), 'session_revoked')
      const caddy = await get(gw.url, '/_gatehouse/forward-auth', { cookie: cookie!, accept: 'text/html', 'x-forwarded-uri': '/x', 'x-forwarded-host': 'app.test', 'x-forwarded-proto': 'https' })
      assert.equal(caddy.status, 302)
      assert.equal(caddy.headers.get('gatehouse-session-end'), 'session_revoked')
      const whoami = await get(gw.url, '/_gatehouse/session', { cookie: cookie! })
      assert.equal(whoami.status, 401)
      assert.equal(((await whoami.json()) as { reason: string }).reason, 'session_revoked')
      assert.equal(whoami.headers.get('gatehouse-session-end'), 'session_revoked')
      assert.equal(((await (await get(gw.url, '/_gatehouse/session')).json()) as { reason: string }).reason, 'no_session')
    } finally {
      await gw.close()
    }
  })

  test('tombstones live in the shared state: a second gateway on the same SQLite file tells revoked from expired', async () => {
    const path = tempDb()
    const clock = new ManualClock(Date.now())
    const one = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path } } }, { clock })
    const two = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path } } }, { clock })
    try {
      const { cookie } = await login(one.url, ALICE.username, ALICE.password)
      assert.equal((await get(two.url, '/app', { cookie: cookie! })).status, 200)
      await fetch(`${one.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
      assert.deepEqual(await refusal(two, cookie!), ended('session_revoked'))
    } finally {
      await one.close()
      await two.close()
    }
  })
})

describe('GET /_gatehouse/session is read-only', () => {
  test('polling it neither extends the idle timeout nor renews the id', async () => {
    const gw = await startTestGateway({ session: { idle_timeout: '10m', touch_interval: '1m', rolling_timeout: '5m' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const before = (await (await get(gw.url, '/_gatehouse/session', { cookie: cookie! })).json()) as { idle_expires_at: string }
      for (let minute = 0; minute < 9; minute++) {
        gw.clock.advance(60_000)
        const poll = await get(gw.url, '/_gatehouse/session', { cookie: cookie! })
        assert.equal(poll.status, 200)
        assert.deepEqual(poll.headers.getSetCookie(), [], 'no renewal, no re-issued cookie')
        assert.equal(((await poll.json()) as { idle_expires_at: string }).idle_expires_at, before.idle_expires_at, 'idle expiry unchanged')
      }
      gw.clock.advance(61_000)
      assert.deepEqual(await refusal(gw, cookie!), ended('session_expired'), 'ten minutes of polling only: idle')
      // A real request does extend it.
      const active = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      gw.clock.advance(4 * 60_000)
      assert.equal((await get(gw.url, '/app', { cookie: active })).status, 200)
      gw.clock.advance(8 * 60_000)
      const still = await get(gw.url, '/app', { cookie: active })
      assert.equal(still.status, 200, 'activity extended it')
    } finally {
      await gw.close()
    }
  })
})

describe('revocable cookie storage', () => {
  test('logout, _invalidate by user and all end cookie sessions; replay gets 401 session_revoked', async () => {
    const gw = await startTestGateway({ admin: { token: TOKEN }, session: { storage: 'cookie' } })
    try {
      const a = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      assert.equal((await get(gw.url, '/app', { cookie: a })).status, 200)
      await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: a } })
      assert.deepEqual(await refusal(gw, a), ended('session_revoked'), 'a copied cookie no longer works after logout')
      const a2 = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      const b = (await login(gw.url, BOB.username, BOB.password)).cookie!
      assert.equal((await get(gw.url, '/app', { cookie: a2 })).status, 200)
      const byUser = await admin(gw, '/sessions/_invalidate', { method: 'POST', body: JSON.stringify({ match: 'query', query: { username: 'alice' } }) })
      assert.equal(byUser.status, 200)
      assert.deepEqual(await refusal(gw, a2), ended('session_revoked'))
      assert.equal((await get(gw.url, '/app', { cookie: b })).status, 200, 'other users untouched')
      gw.clock.advance(1)
      const a3 = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      assert.equal((await get(gw.url, '/app', { cookie: a3 })).status, 200, 'a login after the revocation works')
      await admin(gw, '/sessions/_invalidate', { method: 'POST', body: '{"match":"all"}' })
      assert.deepEqual(await refusal(gw, b), ended('session_revoked'))
      assert.deepEqual(await refusal(gw, a3), ended('session_revoked'))
      assert.deepEqual(await refusal(gw, 'gatehouse_session=not-sealed'), ended('unknown_session'))
    } finally {
      await gw.close()
    }
  })

  test('a revocation made through one gateway holds on another sharing the SQLite revocation file, at once', async () => {
    const path = tempDb()
    const clock = new ManualClock(Date.now())
    const session = { storage: 'cookie', sqlite: { path }, revocation: { storage: 'sqlite' } }
    const one = await startTestGateway({ session }, { clock })
    const two = await startTestGateway({ session }, { clock })
    try {
      const { cookie } = await login(one.url, ALICE.username, ALICE.password)
      for (let i = 0; i < 3; i++) assert.equal((await get(two.url, '/app', { cookie: cookie! })).status, 200, 'cached as not revoked')
      await fetch(`${one.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
      assert.deepEqual(await refusal(two, cookie!), ended('session_revoked'), 'the very next request on the other gateway')
    } finally {
      await one.close()
      await two.close()
    }
  })

  for (const kind of ['redis', 'postgres'] as const) {
    test(`revocations kept in ${kind}: cached verdicts on another gateway are dropped as soon as it hears of the revocation`, async (t) => {
      const skip = kind === 'redis' ? await redisSkip() : await postgresSkip()
      if (skip) return t.skip(skip)
      const prefix = `${uniqueName('gh_rv')}:`
      const table = uniqueName('gh_rv')
      const session = { storage: 'cookie', revocation: { storage: kind }, redis: { url: REDIS_URL, prefix }, postgres: { url: DATABASE_URL, table } }
      const clock = new ManualClock(Date.now())
      const one = await startTestGateway({ session }, { clock })
      const two = await startTestGateway({ session }, { clock })
      try {
        const { cookie } = await login(one.url, ALICE.username, ALICE.password)
        const other = (await login(one.url, BOB.username, BOB.password)).cookie!
        for (let i = 0; i < 3; i++) assert.equal((await get(two.url, '/app', { cookie: cookie! })).status, 200)
        await fetch(`${one.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
        let status = 200
        // Pub/sub and LISTEN/NOTIFY take a moment to deliver; within a second it must hold.
        for (let i = 0; i < 100 && status === 200; i++) {
          status = (await get(two.url, '/app', { cookie: cookie! })).status
          if (status === 200) await new Promise((resolve) => setTimeout(resolve, 10))
        }
        assert.equal(status, 401, 'revoked on the other gateway')
        assert.deepEqual(await refusal(two, cookie!), ended('session_revoked'))
        assert.equal((await get(two.url, '/app', { cookie: other })).status, 200, 'other sessions stay')
      } finally {
        await one.close()
        await two.close()
        if (kind === 'redis') await dropRedisPrefix(REDIS_URL, prefix)
        else await dropPostgresTable(DATABASE_URL, `${table}_state`)
      }
    })
  }

  for (const storage of ['cookie', 'sqlite'] as const) test(`gatehouse sessions revoke --user ends ${storage} sessions of running gateways (session_revoked)`, async () => {
    const { runSessions } = await import('../../src/cli/sessions.js')
    const path = tempDb()
    const gw = await startTestGateway({ session: { storage, sqlite: { path }, revocation: { storage: 'sqlite' } } })
    const file = join(dirs.at(-1)!, 'gatehouse.yaml')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, JSON.stringify({ upstream: 'http://127.0.0.1:1', secrets: [SECRET], session: { storage, sqlite: { path } } }))
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal((await get(gw.url, '/app', { cookie: cookie! })).status, 200)
      const write = process.stdout.write
      process.stdout.write = (() => true) as typeof process.stdout.write
      let code: number
      try {
        code = await runSessions({ action: 'revoke', config: file, user: 'alice' })
      } finally {
        process.stdout.write = write
      }
      assert.equal(code, 0)
      assert.deepEqual(await refusal(gw, cookie!), ended('session_revoked'))
    } finally {
      await gw.close()
    }
  })
})

describe('sessions follow the user directory', () => {
  const directory = async (users: unknown[]) => createUserDirectory(parseConfig({ upstream: 'http://127.0.0.1:1', secrets: [SECRET], users }, {}))

  test('at reload: a removed user\'s sessions end (session_revoked), changed roles apply at the next request; JWT sessions do not follow', async () => {
    const key = testKeys().EdDSA
    const gw = await startTestGateway({ session: { storage: 'memory' }, auth: { basic: { enabled: true, create_session: true }, jwt: { public_key: key.publicPem, issuer: 'idp', sources: ['query:jwt'] } } })
    try {
      const alice = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
      const bob = (await login(gw.url, BOB.username, BOB.password)).cookie!
      const bobBasic = sessionCookie(await get(gw.url, '/app', { authorization: `Basic ${Buffer.from(`${BOB.username}:${BOB.password}`).toString('base64')}` }))!
      const now = Math.floor(gw.clock.now() / 1000)
      const token = await new SignJWT({ roles: ['r'] }).setProtectedHeader({ alg: 'EdDSA' }).setSubject('bob').setIssuer('idp').setIssuedAt(now).setExpirationTime(now + 3600).sign(key.privateKey)
      const bobJwt = sessionCookie(await get(gw.url, `/app?jwt=${token}`))!
      const [aliceUser] = (await testUsers()) as { username: string }[]
      const ended1 = await gw.gateway.applyUsers(await directory([{ ...(aliceUser as object), roles: ['auditor'], email: 'new@example.com' }]))
      assert.equal(ended1, 2, 'bob\'s form and basic sessions were swept from the store')
      assert.deepEqual(await refusal(gw, bob), ended('session_revoked'))
      assert.deepEqual(await refusal(gw, bobBasic), ended('session_revoked'))
      assert.equal((await get(gw.url, '/app', { cookie: bobJwt })).status, 200, 'a JWT session carries its own identity')
      assert.equal((await get(gw.url, '/app', { cookie: alice })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-groups'], 'auditor', 'new roles at the next request')
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-email'], 'new@example.com')
      const whoami = (await (await get(gw.url, '/_gatehouse/session', { cookie: alice })).json()) as { roles: string[] }
      assert.deepEqual(whoami.roles, ['auditor'])
    } finally {
      await gw.close()
    }
  })

  test('at start: a user removed while the gateway was down finds the session ended', async () => {
    const path = tempDb()
    const first = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path } } })
    const { cookie } = await login(first.url, BOB.username, BOB.password)
    const alice = (await login(first.url, ALICE.username, ALICE.password)).cookie!
    await first.close()
    const [aliceUser] = (await testUsers()) as object[]
    const second = await startTestGateway({ session: { storage: 'sqlite', sqlite: { path } }, users: [aliceUser] })
    try {
      assert.deepEqual(await refusal(second, cookie!), ended('session_revoked'))
      assert.equal((await get(second.url, '/app', { cookie: alice })).status, 200)
    } finally {
      await second.close()
    }
  })

  test('cookie storage: a removed user\'s cookie is refused at the next request', async () => {
    const gw = await startTestGateway({ session: { storage: 'cookie' } })
    try {
      const bob = (await login(gw.url, BOB.username, BOB.password)).cookie!
      const [aliceUser] = (await testUsers()) as object[]
      await gw.gateway.applyUsers(await directory([aliceUser]))
      assert.deepEqual(await refusal(gw, bob), ended('session_revoked'))
    } finally {
      await gw.close()
    }
  })
})

describe('idle_timeout and touch_interval', () => {
  test('idle_timeout not longer than touch_interval is a config error naming the key', () => {
    const base = { upstream: 'http://127.0.0.1:1', secrets: [SECRET] }
    assert.throws(() => parseConfig({ ...base, session: { idle_timeout: '60s' } }, {}), (error: { problems?: string[] }) => error.problems?.some((p) => p.startsWith('session.idle_timeout: must be longer than session.touch_interval (60s)')) ?? false)
    assert.throws(() => parseConfig({ ...base, session: { idle_timeout: '5m', touch_interval: '10m' } }, {}), (error: { problems?: string[] }) => error.problems?.some((p) => p.startsWith('session.idle_timeout: must be longer than session.touch_interval (600s)')) ?? false)
    assert.equal(parseConfig({ ...base, session: { idle_timeout: '61s' } }, {}).session.idle_timeout, 61_000)
    assert.equal(parseConfig({ ...base, session: { idle_timeout: 0, touch_interval: '1h' } }, {}).session.idle_timeout, null, 'no idle timeout: nothing to extend')
  })
})
