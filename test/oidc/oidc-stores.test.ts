import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { randomUUID } from 'node:crypto'
import { startTestGateway } from '../helpers/gateway.js'
import { DATABASE_URL, dropPostgresTable, postgresSkip, REDIS_URL, redisSkip } from '../helpers/services.js'
import { CookieJar, signInThrough, startTestProvider } from '../helpers/oidc-provider.js'

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} }
const now = () => Math.floor(Date.now() / 1000)
const backchannel = (base: string, token: string) =>
  fetch(`${base}/_gatehouse/oidc/op/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }) })

describe('OIDC logins across gateways and storages (real provider)', () => {
  const shared: Record<string, { skip: () => Promise<false | string>; session: () => Record<string, unknown>; cleanup?: (session: Record<string, unknown>) => Promise<void> }> = {
    sqlite: { skip: async () => false, session: () => ({ storage: 'sqlite', sqlite: { path: join(mkdtempSync(join(tmpdir(), 'gatehouse-oidc-')), 'sessions.db') } }) },
    redis: { skip: redisSkip, session: () => ({ storage: 'redis', redis: { url: REDIS_URL, prefix: `gh-oidc-${randomUUID()}:` } }) },
    postgres: {
      skip: postgresSkip,
      session: () => ({ storage: 'postgres', postgres: { url: DATABASE_URL, table: `gh_oidc_${randomUUID().replace(/-/g, '').slice(0, 12)}` } }),
      cleanup: async (session) => {
        const { table } = session.postgres as { table: string }
        await dropPostgresTable(DATABASE_URL, table)
        await dropPostgresTable(DATABASE_URL, `${table}_state`)
      },
    },
  }
  for (const [kind, backend] of Object.entries(shared)) {
    test(`two gateways sharing one ${kind} store: a login on one works on the other, one refresh for both, a logout token sent to either ends it everywhere, a jti is refused on both`, async (t) => {
      const skip = await backend.skip()
      if (skip) return t.skip(skip)
      const op = await startTestProvider({ accessTokenTtl: 120 })
      const session = backend.session()
      const settings = {
        auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret, pass_access_token: true }] },
        session: { ...session, cookie: { secure: false } },
      }
      const a = await startTestGateway(settings)
      const b = await startTestGateway(settings)
      let refreshes = 0
      op.configure(a.url).on('grant.success', (ctx: { oidc: { params?: { grant_type?: string } } }) => {
        if (ctx.oidc.params?.grant_type === 'refresh_token') refreshes++
      })
      try {
        const jar = new CookieJar()
        assert.equal((await signInThrough(jar, a.url)).status, 302)
        const cookie = jar.header(a.url)!
        const tokenAt = async (gw: typeof a) => {
          const response = await fetch(`${gw.url}/app`, { headers: { cookie } })
          assert.equal(response.status, 200)
          assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'carol')
          return gw.received.at(-1)!.headers['x-forwarded-access-token']
        }
        const first = await tokenAt(a)
        assert.equal(await tokenAt(b), first, 'gateway B found the tokens gateway A stored')

        // Both gateways find the token due at once: one of them refreshes, the other waits for it.
        a.clock.advance(100_000)
        b.clock.advance(100_000)
        const renewed = await Promise.all([tokenAt(a), tokenAt(b), tokenAt(a), tokenAt(b)])
        assert.notEqual(renewed[0], first)
        assert.equal(new Set(renewed).size, 1, 'every request got the same new token')
        assert.equal(refreshes, 1, 'one refresh at the provider for two gateways')

        const sid = ((await a.gateway.store.admin!.list({ provider: { type: 'oidc' }, limit: 10, now: Date.now() })).sessions[0]!.data!.oidc as { sid: string }).sid
        const token = await op.sign({ iss: op.issuer, aud: op.clientId, iat: now(), jti: `multi-${randomUUID()}`, sid, events: EVENT })
        assert.equal((await backchannel(b.url, token)).status, 200)
        assert.equal((await fetch(`${a.url}/_gatehouse/session`, { headers: { cookie } })).status, 401, 'ended on A by a token sent to B')
        assert.equal((await fetch(`${b.url}/_gatehouse/session`, { headers: { cookie } })).status, 401)
        const replayOnA = await backchannel(a.url, token)
        assert.equal(replayOnA.status, 400)
        assert.equal(((await replayOnA.json()) as { reason: string }).reason, 'logout_token_replayed')
      } finally {
        await a.close()
        await b.close()
        await op.close()
        await backend.cleanup?.(session)
      }
    })
  }

  test('cookie storage: tokens stay server side (never in the cookie); a back-channel logout by sub ends every cookie session of the user through the shared state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oidc-'))
    const op = await startTestProvider()
    const gw = await startTestGateway({
      auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret, pass_access_token: true }] },
      session: { storage: 'cookie', sqlite: { path: join(dir, 'state.db') }, cookie: { secure: false } },
    })
    op.configure(gw.url)
    try {
      const signedIn = async () => {
        const jar = new CookieJar()
        assert.equal((await signInThrough(jar, gw.url)).status, 302)
        const cookie = jar.header(gw.url)!
        assert.equal((await fetch(`${gw.url}/app`, { headers: { cookie } })).status, 200)
        const accessToken = gw.received.at(-1)!.headers['x-forwarded-access-token'] as string
        assert.ok(accessToken)
        assert.ok(!cookie.includes(accessToken.slice(0, 40)), 'the access token is not in the cookie')
        return cookie
      }
      const first = await signedIn()
      const second = await signedIn()
      // The provider ends carol's sessions by sub (no sid): both cookie sessions end.
      const token = await op.sign({ iss: op.issuer, aud: op.clientId, iat: now(), jti: `cookie-${Date.now()}`, sub: 'carol-sub', events: EVENT })
      assert.equal((await backchannel(gw.url, token)).status, 200)
      gw.clock.advance(3_000) // past the in-process liveness bound (session.cache_ttl)
      for (const cookie of [first, second]) {
        const after = await fetch(`${gw.url}/app`, { headers: { cookie } })
        assert.equal(after.status, 401)
      }
    } finally {
      await gw.close()
      await op.close()
    }
  })
})

test('a session the admin API ends has its OIDC tokens removed from the shared state at once (not kept until they expire)', async () => {
  const Database = (await import('better-sqlite3')).default
  const op = await startTestProvider({ accessTokenTtl: 120 })
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-oidc-admin-')), 'sessions.db')
  const adminToken = 'admin-token-0123456789abcdef0123456789'
  const gw = await startTestGateway({
    admin: { token: adminToken },
    auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret }] },
    session: { storage: 'sqlite', sqlite: { path }, cookie: { secure: false } },
  })
  op.configure(gw.url)
  const db = new Database(path, { readonly: true })
  const tokenEntries = () => db.prepare<[], { n: number }>("SELECT count(*) AS n FROM gatehouse_state WHERE key LIKE 'oidc:_:%'").get()!.n
  try {
    const jar = new CookieJar()
    assert.equal((await signInThrough(jar, gw.url)).status, 302)
    assert.equal((await fetch(`${gw.url}/app`, { headers: { cookie: jar.header(gw.url)! } })).status, 200)
    assert.ok(tokenEntries() >= 2, 'the login keeps its tokens in the shared state')
    const headers = { authorization: `Bearer ${adminToken}` }
    const { sessions } = (await (await fetch(`${gw.url}/_gatehouse/admin/sessions`, { headers })).json()) as { sessions: { id: string; user: string }[] }
    assert.deepEqual(sessions.map((s) => s.user), ['carol'])
    assert.equal((await fetch(`${gw.url}/_gatehouse/admin/sessions/${sessions[0]!.id}`, { method: 'DELETE', headers })).status, 200)
    assert.equal(tokenEntries(), 0, 'access, refresh and ID token entries are gone')
    assert.equal((await fetch(`${gw.url}/app`, { headers: { cookie: jar.header(gw.url)! } })).status, 401, 'the session is over')
  } finally {
    db.close()
    await gw.close()
    await op.close()
  }
})
