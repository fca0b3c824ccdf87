import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { CookieJar, get, startTestProvider, untilCallback, type TestProvider } from '../helpers/oidc-provider.js'

/** Sign-in with a real OpenID provider (oidc-provider), over plain HTTP with a hand-kept cookie jar. */
describe('OIDC against a real provider', () => {
  let op: TestProvider
  let gw: TestGateway
  const refreshTokens: { destroy(): Promise<void> }[] = []
  const LOGIN_COOKIE = 'gatehouse_session_oidc'
  const ADMIN_TOKEN = 'admin-token-0123456789abcdef-0123456789'

  before(async () => {
    op = await startTestProvider({ accessTokenTtl: 120 })
    gw = await startTestGateway({
      auth: {
        oidc: [{ name: 'op', issuer: op.issuer, client_id: op.clientId, client_secret: op.clientSecret, scopes: ['openid', 'profile', 'email', 'groups'], pass_access_token: true }],
      },
      session: { cookie: { secure: false } },
      admin: { token: ADMIN_TOKEN },
    })
    op.configure(gw.url).on('refresh_token.saved', (token: { destroy(): Promise<void> }) => refreshTokens.push(token))
  })
  after(async () => {
    await gw?.close()
    await op?.close()
  })

  const callbackPrefix = () => `${gw.url}/_gatehouse/oidc/op/callback`

  /** From the gateway's login route to the callback URL the provider sends the browser to. */
  async function toCallback(jar: CookieJar, rd?: string): Promise<string> {
    const start = await get(jar, `${gw.url}/_gatehouse/oidc/op/login${rd === undefined ? '' : `?rd=${encodeURIComponent(rd)}`}`)
    assert.equal(start.status, 302)
    const location = start.headers.get('location')!
    assert.ok(location.startsWith(op.issuer), location)
    const url = new URL(location)
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
    assert.ok(url.searchParams.get('state') && url.searchParams.get('nonce') && url.searchParams.get('code_challenge'))
    const { callback } = await untilCallback(jar, location, callbackPrefix())
    assert.ok(callback, 'the provider sent the browser back to the callback')
    return callback
  }

  async function signIn(jar = new CookieJar(), rd?: string): Promise<{ jar: CookieJar; response: Response }> {
    const callback = await toCallback(jar, rd)
    const response = await get(jar, callback)
    return { jar, response }
  }

  const sessionOf = async (jar: CookieJar) => fetch(`${gw.url}/_gatehouse/session`, { headers: { cookie: jar.header(gw.url) ?? '' } })
  const oidcSessions = async () => (await gw.gateway.store.admin!.list({ provider: { type: 'oidc', name: 'op' }, limit: 100, now: Date.now() })).sessions
  const reasonOf = async (response: Response) => ((await response.json()) as { reason?: string }).reason

  test('a full sign-in: session with provider {type: oidc, name}, claims mapped, access token passed upstream, client copy stripped', async () => {
    op.nextLogin = 'carol'
    const { jar, response } = await signIn()
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), '/')
    assert.ok(jar.get(gw.url, 'gatehouse_session'), 'a session cookie')
    assert.equal(jar.get(gw.url, LOGIN_COOKIE), undefined, 'the login cookie is deleted')
    const whoami = (await (await sessionOf(jar)).json()) as { user: string; roles: string[]; email: string; provider: unknown }
    assert.deepEqual({ user: whoami.user, roles: whoami.roles, email: whoami.email, provider: whoami.provider }, { user: 'carol', roles: ['staff', 'ops'], email: 'carol@example.com', provider: { type: 'oidc', name: 'op' } })
    const proxied = await fetch(`${gw.url}/app`, { headers: { cookie: jar.header(gw.url)!, 'x-forwarded-access-token': 'forged' } })
    assert.equal(proxied.status, 200)
    const seen = gw.received.at(-1)!
    assert.equal(seen.headers['x-forwarded-user'], 'carol')
    const token = seen.headers['x-forwarded-access-token']
    assert.ok(typeof token === 'string' && token.length > 10 && token !== 'forged', 'the provider\'s access token, not the client\'s')
    // Tokens never reach the browser: not in the cookie, not in /session.
    assert.ok(!jar.header(gw.url)!.includes(token as string))
    assert.ok(!gw.logs.some((line) => line.includes(token as string)), 'nor in a log line')
  })

  test('forward-auth answers carry the access token for the proxy to pass on', async () => {
    const { jar } = await signIn()
    const cookie = jar.header(gw.url)!
    const response = await fetch(`${gw.url}/_gatehouse/forward-auth`, { headers: { cookie, 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.test', 'x-forwarded-uri': '/x' } })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('x-auth-request-user'), 'carol')
    const token = response.headers.get('x-forwarded-access-token')
    assert.ok(token && token.length > 10)
    assert.equal(response.headers.get('x-auth-request-access-token'), token)
  })

  test('the admin API lists OIDC sessions by provider and invalidates them by provider', async () => {
    const { jar } = await signIn()
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    const listed = (await (await fetch(`${gw.url}/_gatehouse/admin/sessions?provider=oidc:op`, { headers: admin })).json()) as { sessions: { provider: unknown; user: string }[] }
    assert.ok(listed.sessions.length > 0)
    assert.ok(listed.sessions.every((s) => JSON.stringify(s.provider) === '{"type":"oidc","name":"op"}'))
    assert.equal(((await (await fetch(`${gw.url}/_gatehouse/admin/sessions?provider=oidc:other`, { headers: admin })).json()) as { sessions: unknown[] }).sessions.length, 0)
    const invalidated = await fetch(`${gw.url}/_gatehouse/admin/sessions/_invalidate`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ match: 'query', query: { provider: { type: 'oidc', name: 'op' } } }) })
    assert.equal(invalidated.status, 200)
    assert.equal(((await invalidated.json()) as { total: number }).total, listed.sessions.length)
    assert.equal((await sessionOf(jar)).status, 401)
  })

  test('rd is carried through the round trip; an rd to another site is replaced by /', async () => {
    op.nextLogin = 'carol'
    const inside = await signIn(new CookieJar(), '/reports?q=1')
    assert.equal(inside.response.headers.get('location'), '/reports?q=1')
    const outside = await signIn(new CookieJar(), 'https://evil.example/steal')
    assert.equal(outside.response.headers.get('location'), '/')
  })

  test('a callback with the wrong state is 401 oidc_bad_state, and no session', async () => {
    const jar = new CookieJar()
    const callback = new URL(await toCallback(jar))
    callback.searchParams.set('state', 'not-the-one')
    const response = await get(jar, callback.href)
    assert.equal(response.status, 401)
    assert.equal(await reasonOf(response), 'oidc_bad_state')
    assert.equal(jar.get(gw.url, 'gatehouse_session'), undefined)
  })

  test('a replayed callback (same code, same login cookie) is 401 oidc_replayed', async () => {
    const jar = new CookieJar()
    const callback = await toCallback(jar)
    const loginCookie = jar.get(gw.url, LOGIN_COOKIE)!
    assert.equal((await get(jar, callback)).status, 302)
    const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: `${LOGIN_COOKIE}=${loginCookie}` } })
    assert.equal(replay.status, 401)
    assert.equal(await reasonOf(replay), 'oidc_replayed')
    assert.equal(replay.headers.getSetCookie().some((line) => line.startsWith('gatehouse_session=') && !line.includes('Max-Age=0')), false)
  })

  test('error=access_denied from the provider is 401 oidc_denied; the browser gets an HTML page', async () => {
    op.nextLogin = 'deny'
    try {
      const jar = new CookieJar()
      const callback = await toCallback(jar)
      assert.equal(new URL(callback).searchParams.get('error'), 'access_denied')
      const page = await get(jar, callback, { accept: 'text/html' })
      assert.equal(page.status, 401)
      assert.match(await page.text(), /did not sign you in/)
      assert.equal(jar.get(gw.url, 'gatehouse_session'), undefined)
    } finally {
      op.nextLogin = 'carol'
    }
  })

  test('a callback without a login started in this browser is 401 oidc_no_login', async () => {
    const response = await fetch(`${gw.url}/_gatehouse/oidc/op/callback?code=abc&state=def`, { redirect: 'manual' })
    assert.equal(response.status, 401)
    assert.equal(await reasonOf(response), 'oidc_no_login')
    // A login cookie from another browser's login does not help a stolen callback URL either.
    const victim = new CookieJar()
    const attackerCallback = await toCallback(new CookieJar())
    await get(victim, `${gw.url}/_gatehouse/oidc/op/login`)
    const crossed = await get(victim, attackerCallback)
    assert.equal(crossed.status, 401)
    assert.equal(await reasonOf(crossed), 'oidc_bad_state')
  })

  test('an unknown provider name is 404', async () => {
    const response = await fetch(`${gw.url}/_gatehouse/oidc/nope/login`, { redirect: 'manual' })
    assert.equal(response.status, 404)
    assert.equal(await reasonOf(response), 'unknown_oidc_provider')
  })

  test('the login page shows a "Sign in with op" button beside the form, carrying rd', async () => {
    const page = await (await fetch(`${gw.url}/_gatehouse/login?rd=%2Fdocs`)).text()
    assert.match(page, /href="\/_gatehouse\/oidc\/op\/login\?rd=%2Fdocs">Sign in with op</)
    assert.match(page, /name="password"/)
  })

  describe('back-channel logout', () => {
    const backchannel = (token: string) =>
      fetch(`${gw.url}/_gatehouse/oidc/op/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }) })
    const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} }
    const now = () => Math.floor(Date.now() / 1000)
    let counter = 0
    const claims = (sid: string, extra: Record<string, unknown> = {}) => ({ iss: op.issuer, aud: op.clientId, iat: now(), exp: now() + 120, jti: `jti-${++counter}-${Date.now()}`, sid, events: EVENT, ...extra })

    async function signedInWithSid(): Promise<{ jar: CookieJar; sid: string; sub: string }> {
      const before = new Set((await oidcSessions()).map((s) => s.id))
      const { jar } = await signIn()
      const session = (await oidcSessions()).find((s) => !before.has(s.id))!
      const data = session.data!.oidc as { sid: string; sub: string }
      assert.ok(data.sid, 'the provider put a sid in the ID token')
      return { jar, sid: data.sid, sub: data.sub }
    }

    test('each invalid logout_token is 400 bad_logout_token and ends nothing', async () => {
      const { jar, sid } = await signedInWithSid()
      const unsigned = (payload: object) => `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`
      const { events: _events, ...withoutEvents } = claims(sid)
      const cases: Record<string, string> = {
        'another key (bad signature)': await op.sign(claims(sid), { foreign: true }),
        'wrong aud': await op.sign(claims(sid, { aud: 'someone-else' })),
        'wrong iss': await op.sign(claims(sid, { iss: 'http://evil.example' })),
        'missing events': await op.sign(withoutEvents),
        'nonce present': await op.sign(claims(sid, { nonce: 'n' })),
        'too old': await op.sign(claims(sid, { iat: now() - 3600, exp: now() + 60 })),
        'alg none': unsigned(claims(sid)),
        'neither sid nor sub': await op.sign(claims(sid, { sid: undefined })),
        'not a JWT': 'garbage',
      }
      for (const [name, token] of Object.entries(cases)) {
        const response = await backchannel(token)
        assert.equal(response.status, 400, name)
        assert.equal(await reasonOf(response), 'bad_logout_token', name)
      }
      assert.equal((await sessionOf(jar)).status, 200, 'the session survived every bad token')
    })

    test('a verified logout_token ends the sessions of its sid; its jti cannot be replayed', async () => {
      const first = await signedInWithSid()
      const other = await signedInWithSid()
      const token = await op.sign(claims(first.sid))
      assert.equal((await backchannel(token)).status, 200)
      assert.equal((await sessionOf(first.jar)).status, 401)
      assert.equal((await sessionOf(other.jar)).status, 200, 'another provider session is untouched')
      const replay = await backchannel(token)
      assert.equal(replay.status, 400)
      assert.equal(await reasonOf(replay), 'logout_token_replayed')
    })

    test('a logout_token with only sub ends every session of that user', async () => {
      const a = await signedInWithSid()
      const b = await signedInWithSid()
      assert.equal(a.sub, b.sub)
      const response = await backchannel(await op.sign({ iss: op.issuer, aud: op.clientId, iat: now(), jti: `sub-${Date.now()}`, sub: a.sub, events: EVENT }))
      assert.equal(response.status, 200)
      assert.equal((await sessionOf(a.jar)).status, 401)
      assert.equal((await sessionOf(b.jar)).status, 401)
    })

    test('front-channel logout: a wrong iss is 400 and ends nothing; the right iss and sid end the session', async () => {
      const { jar, sid } = await signedInWithSid()
      const front = (iss: string, s: string) => fetch(`${gw.url}/_gatehouse/oidc/op/frontchannel-logout?iss=${encodeURIComponent(iss)}&sid=${encodeURIComponent(s)}`)
      for (const iss of ['http://evil.example', `${op.issuer}/`, op.issuer.toUpperCase()]) {
        const bad = await front(iss, sid)
        assert.equal(bad.status, 400, iss)
        assert.equal(await reasonOf(bad), 'bad_frontchannel_logout')
      }
      assert.equal((await sessionOf(jar)).status, 200)
      const ok = await front(op.issuer, sid)
      assert.equal(ok.status, 200)
      assert.match(ok.headers.get('content-security-policy') ?? '', new RegExp(`frame-ancestors ${op.issuer}`))
      assert.equal((await sessionOf(jar)).status, 401)
    })
  })

  describe('tokens', () => {
    test('an access token due to expire is refreshed (once for parallel requests); a refused refresh ends the session', async () => {
      const { jar } = await signIn()
      const cookie = jar.header(gw.url)!
      const tokenSeen = async () => {
        const response = await fetch(`${gw.url}/app`, { headers: { cookie } })
        assert.equal(response.status, 200)
        return gw.received.at(-1)!.headers['x-forwarded-access-token']
      }
      const first = await tokenSeen()
      assert.equal(await tokenSeen(), first, 'no refresh while the token is fresh')
      const savedBefore = refreshTokens.length
      gw.clock.advance(100_000) // within REFRESH_AHEAD of the 120 s lifetime
      const parallel = await Promise.all([tokenSeen(), tokenSeen(), tokenSeen()])
      assert.notEqual(parallel[0], first, 'a new access token')
      assert.equal(new Set(parallel).size, 1, 'one refresh for all three')
      assert.ok(refreshTokens.length >= savedBefore, 'the provider saw the refresh')
      // The provider revokes the login's refresh tokens (the user was disabled): the next refresh fails.
      for (const token of refreshTokens.splice(0)) await token.destroy()
      gw.clock.advance(100_000)
      const refused = await fetch(`${gw.url}/app`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' })
      assert.equal(refused.status, 302)
      assert.match(refused.headers.get('location') ?? '', /\/_gatehouse\/login/)
      assert.equal((await fetch(`${gw.url}/_gatehouse/session`, { headers: { cookie } })).status, 401, 'the session ended')
    })

    test('the provider down: login is 503 (HTML page for browsers), never a session; a session whose token needs a refresh gets 503', async () => {
      const { jar } = await signIn()
      const cookie = jar.header(gw.url)!
      await op.stop()
      try {
        const fresh = new CookieJar()
        // Discovery is cached: the authorization URL is still built, but the code cannot be redeemed.
        const login = await get(fresh, `${gw.url}/_gatehouse/oidc/op/login`)
        assert.equal(login.status, 302)
        const state = new URL(login.headers.get('location')!).searchParams.get('state')!
        const callback = await get(fresh, `${callbackPrefix()}?code=abc&state=${state}&iss=${encodeURIComponent(op.issuer)}`, { accept: 'text/html' })
        assert.equal(callback.status, 503, await callback.clone().text())
        assert.match(await callback.text(), /cannot be reached/)
        assert.equal(fresh.get(gw.url, 'gatehouse_session'), undefined)
        // Still fresh: keeps working while the provider is away.
        assert.equal((await fetch(`${gw.url}/app`, { headers: { cookie } })).status, 200)
        gw.clock.advance(130_000)
        const stale = await fetch(`${gw.url}/app`, { headers: { cookie } })
        assert.equal(stale.status, 503)
        assert.equal(await reasonOf(stale), 'oidc_unavailable')
      } finally {
        await op.resume()
      }
      // Back: the refresh goes through and the session goes on.
      assert.equal((await fetch(`${gw.url}/app`, { headers: { cookie } })).status, 200)
    })
  })

  test('logout ends the local session, then sends the browser to the provider\'s end_session_endpoint', async () => {
    const { jar } = await signIn()
    const response = await get(jar, `${gw.url}/_gatehouse/logout`, { accept: 'text/html' })
    assert.equal(response.status, 302)
    const location = new URL(response.headers.get('location')!)
    assert.equal(location.origin, op.issuer)
    assert.ok(location.searchParams.get('id_token_hint'), 'id_token_hint')
    assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${gw.url}/_gatehouse/login`)
    assert.equal((await sessionOf(jar)).status, 401)
  })
})
