import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { startTestGateway } from '../helpers/gateway.js'
import { CookieJar, signInThrough, startTestProvider } from '../helpers/oidc-provider.js'

const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} }
const now = () => Math.floor(Date.now() / 1000)
const backchannel = (base: string, token: string) =>
  fetch(`${base}/_gatehouse/oidc/op/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }) })

describe('OIDC logins across gateways and storages (real provider)', () => {
  test('two gateways sharing one SQLite store: a login on one works on the other, a logout token sent to either ends it everywhere, and a jti is refused on both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-oidc-'))
    const op = await startTestProvider()
    const settings = {
      auth: { oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret, pass_access_token: true }] },
      session: { storage: 'sqlite', sqlite: { path: join(dir, 'sessions.db') }, cookie: { secure: false } },
    }
    const a = await startTestGateway(settings)
    const b = await startTestGateway(settings)
    op.configure(a.url)
    try {
      const jar = new CookieJar()
      assert.equal((await signInThrough(jar, a.url)).status, 302)
      const cookie = jar.header(a.url)!
      const onB = await fetch(`${b.url}/app`, { headers: { cookie } })
      assert.equal(onB.status, 200)
      assert.equal(b.received.at(-1)!.headers['x-forwarded-user'], 'carol')
      assert.ok(b.received.at(-1)!.headers['x-forwarded-access-token'], 'gateway B found the tokens gateway A stored')
      assert.equal((await fetch(`${a.url}/app`, { headers: { cookie } })).status, 200)

      const sid = ((await a.gateway.store.admin!.list({ provider: { type: 'oidc' }, limit: 10 })).sessions[0]!.data!.oidc as { sid: string }).sid
      const token = await op.sign({ iss: op.issuer, aud: op.clientId, iat: now(), jti: `multi-${Date.now()}`, sid, events: EVENT })
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
    }
  })

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
