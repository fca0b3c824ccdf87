import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { ALICE, BOB, get, login, sessionCookie, startTestGateway } from '../helpers/gateway.js'
import { testKeys } from '../helpers/keys.js'

const APP = 'https://app.example.com'

describe('logout variants', () => {
  test('methods: only the configured ones log out; others are 404/405 and the session lives', async () => {
    const gw = await startTestGateway({ session: { logout: { methods: ['POST'] } } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const viaGet = await get(gw.url, '/_gatehouse/logout', { cookie: cookie! })
      assert.ok([404, 405].includes(viaGet.status), `GET → ${viaGet.status}`)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      assert.equal((await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })).status, 200)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)
    } finally {
      await gw.close()
    }
  })

  test('query_arg logs out on any path and is never proxied; post_arg in a form or JSON body does too', async () => {
    const gw = await startTestGateway({ session: { logout: { query_arg: 'session_logout', post_arg: 'session_logout' } } })
    try {
      let { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const before = gw.received.length
      const out = await get(gw.url, '/app/anything?session_logout=1', { cookie: cookie! })
      assert.equal(out.status, 200)
      assert.equal(((await out.json()) as { logged_out: boolean }).logged_out, true)
      assert.equal(gw.received.length, before)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)

      ;({ cookie } = await login(gw.url, ALICE.username, ALICE.password))
      const form = await fetch(`${gw.url}/some/form`, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&session_logout=yes' })
      assert.equal(form.status, 200)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)

      ;({ cookie } = await login(gw.url, ALICE.username, ALICE.password))
      const json = await fetch(`${gw.url}/api/thing`, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/json' }, body: '{"session_logout":true}' })
      assert.equal(json.status, 200)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)

      // A normal POST with a form body still reaches the upstream intact.
      ;({ cookie } = await login(gw.url, ALICE.username, ALICE.password))
      const normal = await fetch(`${gw.url}/api/thing`, { method: 'POST', headers: { cookie: cookie!, 'content-type': 'application/x-www-form-urlencoded' }, body: 'q=hello+world' })
      assert.equal(normal.status, 200)
      assert.equal(gw.received.at(-1)!.body, 'q=hello+world')
    } finally {
      await gw.close()
    }
  })

  test('browsers are sent to redirect_url (the identity provider\'s logout page)', async () => {
    const gw = await startTestGateway({ session: { logout: { redirect_url: 'https://idp.example.com/logout' } } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const out = await get(gw.url, '/_gatehouse/logout', { cookie: cookie!, accept: 'text/html' })
      assert.equal(out.status, 302)
      assert.equal(out.headers.get('location'), 'https://idp.example.com/logout')
    } finally {
      await gw.close()
    }
  })

  test('rd is followed only to allowed hosts; redirect tricks fall back to the login page', async () => {
    const gw = await startTestGateway({ session: { allowed_redirect_hosts: ['app.example.com'] } })
    try {
      const cases: [string, string][] = [
        ['https://app.example.com/bye', 'https://app.example.com/bye'],
        ['/goodbye', '/goodbye'],
        ['//evil.com', '/_gatehouse/login'],
        ['/\\evil.com', '/_gatehouse/login'],
        ['https://app.example.com@evil.com/', '/_gatehouse/login'],
        ['https://evilapp.example.com/', '/_gatehouse/login'],
        ['https://app.example.com.evil.com/', '/_gatehouse/login'],
        ['/\t/evil.com', '/_gatehouse/login'],
      ]
      for (const [rd, expected] of cases) {
        const out = await get(gw.url, `/_gatehouse/logout?rd=${encodeURIComponent(rd)}`, { accept: 'text/html' })
        assert.equal(out.headers.get('location'), expected, rd)
      }
    } finally {
      await gw.close()
    }
  })

  test('every cookie is expired with the Domain and Path it was set with', async () => {
    const gw = await startTestGateway({ session: { cookie: { domain: 'example.com', path: '/app' } } })
    try {
      const { response } = await login(gw.url, ALICE.username, ALICE.password)
      const set = response.headers.getSetCookie()[0]!
      assert.match(set, /Domain=example\.com/)
      assert.match(set, /Path=\/app/)
      const out = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: `${sessionCookie(response)}; gatehouse_session.1=stale` } })
      const lines = out.headers.getSetCookie()
      for (const name of ['gatehouse_session', 'gatehouse_session.1']) {
        const line = lines.find((l) => l.startsWith(`${name}=;`))
        assert.ok(line, `${name} expired`)
        assert.match(line!, /Domain=example\.com/)
        assert.match(line!, /Path=\/app/)
        assert.match(line!, /Max-Age=0/)
      }
    } finally {
      await gw.close()
    }
  })
})

describe('cross-subdomain logout', () => {
  test('CORS: an allowed origin gets a preflight answer and credentials; others get no CORS headers and a 403', async () => {
    const gw = await startTestGateway({ session: { logout: { allowed_origins: [APP] } } })
    try {
      const preflight = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } })
      assert.equal(preflight.status, 204)
      assert.equal(preflight.headers.get('access-control-allow-origin'), APP)
      assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true')
      assert.match(preflight.headers.get('access-control-allow-methods')!, /POST/)

      const evilPreflight = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } })
      assert.equal(evilPreflight.headers.get('access-control-allow-origin'), null)

      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const refused = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie!, origin: 'https://evil.example.com' } })
      assert.equal(refused.status, 403)
      assert.equal(refused.headers.get('access-control-allow-origin'), null)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200, 'a refused origin logged nobody out')

      const allowed = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie!, origin: APP } })
      assert.equal(allowed.status, 200)
      assert.equal(allowed.headers.get('access-control-allow-origin'), APP)
      assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true')
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)
    } finally {
      await gw.close()
    }
  })

  test('by token: POST logout with the JWT that created the sessions ends them without the cookie', async () => {
    const key = testKeys().EdDSA
    const gw = await startTestGateway({ auth: { jwt: { public_key: key.publicPem, issuer: 'idp', sources: ['header', 'query:jwt'] } } })
    try {
      const now = Math.floor(gw.clock.now() / 1000)
      const mint = (jti: string) => new SignJWT({ roles: ['r'] }).setProtectedHeader({ alg: 'EdDSA' }).setSubject('frank').setIssuer('idp').setJti(jti).setIssuedAt(now).setExpirationTime(now + 3600).sign(key.privateKey)
      const t1 = await mint('jti-1')
      const t2 = await mint('jti-2')
      const c1 = sessionCookie(await get(gw.url, `/?jwt=${t1}`))!
      const c1b = sessionCookie(await get(gw.url, `/other?jwt=${t1}`))!
      const c2 = sessionCookie(await get(gw.url, `/?jwt=${t2}`))!
      for (const c of [c1, c1b, c2]) assert.equal((await get(gw.url, '/x', { cookie: c })).status, 200)

      const out = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { authorization: `Bearer ${t1}` } })
      assert.equal(out.status, 200)
      assert.deepEqual(await out.json(), { logged_out: true, user: 'frank', total: 2 })
      assert.equal((await get(gw.url, '/x', { cookie: c1 })).status, 401)
      assert.equal((await get(gw.url, '/x', { cookie: c1b })).status, 401)
      assert.equal((await get(gw.url, '/x', { cookie: c2 })).status, 200, 'a session from another token (jti) survives')

      const viaQuery = await fetch(`${gw.url}/_gatehouse/logout?jwt=${t2}`, { method: 'POST' })
      assert.equal(((await viaQuery.json()) as { total: number }).total, 1)
      assert.equal((await get(gw.url, '/x', { cookie: c2 })).status, 401)

      const forged = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { authorization: 'Bearer not.a.token' } })
      assert.equal(forged.status, 401)
    } finally {
      await gw.close()
    }
  })

  test('frame_ancestors sets CSP frame-ancestors on gateway pages, and on proxied responses when asked', async () => {
    const gw = await startTestGateway({ endpoints: { frame_ancestors: [APP], frame_ancestors_on_proxied: true } })
    try {
      assert.match((await get(gw.url, '/_gatehouse/login')).headers.get('content-security-policy')!, /frame-ancestors https:\/\/app\.example\.com$/)
      const { cookie } = await login(gw.url, BOB.username, BOB.password)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).headers.get('content-security-policy'), `frame-ancestors ${APP}`)
    } finally {
      await gw.close()
    }
    const strict = await startTestGateway()
    try {
      assert.match((await get(strict.url, '/_gatehouse/login')).headers.get('content-security-policy')!, /frame-ancestors 'none'/)
    } finally {
      await strict.close()
    }
  })
})
