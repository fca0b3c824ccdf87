import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { ALICE, BOB, startTestGateway, type TestGateway } from '../helpers/gateway.js'

// Forward-auth against the real gateway on 127.0.0.1, the requests shaped as nginx (auth_request)
// and Caddy (forward_auth) send them. Manual clock: rolling renewals without waiting.
const JWT_SECRET = 'forward-auth-test-jwt-secret-0123456789abcdef'
const SECOND = 1000

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
  setCookie: string[]
}

/** node:http, so the Host header is ours to set (fetch refuses it). */
function raw(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, setCookie: res.headers['set-cookie'] ?? [] }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

const pairOf = (lines: string[], name = 'gatehouse_session') => lines.map((line) => line.split(';')[0]!).find((pair) => pair.startsWith(`${name}=`) && pair.length > name.length + 1)

describe('forward-auth behind nginx and Caddy (original request, renewal, trusted proxies)', () => {
  let gw: TestGateway
  const token = (sub: string) => new SignJWT({ roles: ['ops'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('tests').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))

  before(async () => {
    gw = await startTestGateway({
      auth: { jwt: { secret: JWT_SECRET, issuer: 'tests', sources: ['header', 'query:jwt'] } },
      routes: [{ path: '/ops', roles: ['ops'] }, { path: '/public', auth: 'none' }],
      session: { rolling_timeout: '2s', rotation_grace: '1s', idle_timeout: '10s', touch_interval: '1s', logout: { query_arg: 'sign_out' }, cookie: { secure: false } },
    })
  })
  after(() => gw.close())

  const loginCookie = async (user: { username: string; password: string } = ALICE) => {
    const answer = await raw(gw.url, '/_gatehouse/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password: user.password }) })
    assert.equal(answer.status, 200, answer.body)
    return pairOf(answer.setCookie)!
  }
  const caddy = (uri: string, headers: Record<string, string> = {}) =>
    raw(gw.url, '/_gatehouse/forward-auth', { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.test:8443', 'x-forwarded-uri': uri, 'x-forwarded-for': '198.51.100.7', ...headers } })
  const nginx = (uri: string, headers: Record<string, string> = {}) =>
    raw(gw.url, '/_gatehouse/auth', { headers: { 'x-original-url': `https://app.example.test:8443${uri}`, 'x-original-method': 'GET', 'x-forwarded-for': '198.51.100.7', ...headers } })

  test('an active session outlives many rolling renewals on checks that pass no cookie to the browser; the gateway rotates it later', async () => {
    const cookie = await loginCookie()
    for (let i = 0; i < 8; i++) {
      gw.clock.advance(1.5 * SECOND)
      for (const check of [caddy('/app', { cookie }), nginx('/app', { cookie })]) {
        const answer = await check
        assert.equal(answer.status, 200, `check ${i}: ${answer.body}`)
        assert.equal(answer.headers['x-forwarded-user'], 'alice')
        // No new id on a check: a cookie the proxy drops would log the user out.
        assert.equal(pairOf(answer.setCookie), undefined)
      }
    }
    // 12 s of checks, past the 10 s idle timeout and 6 rolling timeouts: the same cookie still works.
    // A request that reaches the gateway itself renews the id; the old one works for the grace period.
    // (Not GET /session: it is read-only.)
    const readOnly = await raw(gw.url, '/_gatehouse/session', { headers: { cookie } })
    assert.equal(readOnly.status, 200)
    assert.equal(pairOf(readOnly.setCookie), undefined)
    const own = await raw(gw.url, '/app', { headers: { cookie } })
    assert.equal(own.status, 200)
    const renewed = pairOf(own.setCookie)
    assert.ok(renewed && renewed !== cookie, 'renewed on the gateway\'s own endpoint')
    assert.equal((await caddy('/app', { cookie: renewed })).status, 200)
  })

  test('route rules and roles apply to the original URL; oauth2-proxy names are sent', async () => {
    const bob = await loginCookie(BOB)
    const ok = await nginx('/app/page?x=1', { cookie: bob })
    assert.equal(ok.status, 200)
    assert.equal(ok.body, '')
    assert.equal(ok.headers['x-auth-request-user'], 'bob')
    assert.equal(ok.headers['x-auth-request-groups'], 'viewer')
    const ops = await caddy('/ops/x', { cookie: bob })
    assert.equal(ops.status, 403)
    assert.equal(JSON.parse(ops.body).reason, 'role_not_allowed')
    assert.equal((await nginx('/public/a')).status, 200)
    // X-Original-URI (path only) works as well.
    assert.equal((await raw(gw.url, '/_gatehouse/auth', { headers: { 'x-original-uri': '/ops/y', cookie: bob } })).status, 403)
  })

  test('signed-out browsers on /forward-auth go to the login page with rd = the full original URL; APIs get 401', async () => {
    const browser = await caddy('/app/a?x=1&y=2&jwt=', { accept: 'text/html' })
    assert.equal(browser.status, 302)
    const location = new URL(browser.headers.location!, 'http://placeholder')
    assert.equal(location.pathname, '/_gatehouse/login')
    assert.equal(location.searchParams.get('rd'), 'https://app.example.test:8443/app/a?x=1&y=2')
    const api = await caddy('/app/a')
    assert.equal(api.status, 401)
    assert.equal(JSON.parse(api.body).reason, 'no_credentials')
    const forNginx = await nginx('/app/a', { accept: 'text/html' })
    assert.equal(forNginx.status, 401)
    assert.equal(forNginx.body, '')
  })

  test('?jwt=: a session and a clean redirect on /forward-auth; nginx hands browsers over with 401 and starts nothing', async () => {
    const jwt = await token('carol')
    const answer = await caddy(`/app/b?x=1&jwt=${jwt}&y=2`, { accept: 'text/html' })
    assert.equal(answer.status, 302)
    assert.equal(answer.headers.location, '/app/b?x=1&y=2')
    const cookie = pairOf(answer.setCookie)
    assert.ok(cookie)
    assert.equal((await caddy('/app/b', { cookie: cookie! })).headers['x-forwarded-user'], 'carol')
    const nginxBrowser = await nginx(`/app/b?jwt=${jwt}`, { accept: 'text/html' })
    assert.equal(nginxBrowser.status, 401)
    assert.equal(nginxBrowser.headers['gatehouse-reason'], 'sign_in_at_gateway')
    assert.equal(pairOf(nginxBrowser.setCookie), undefined)
    assert.equal(gw.received.filter((r) => r.url.includes('jwt=')).length, 0)
  })

  test('the logout argument on the original URL ends the session (browsers: 302 to the login page; APIs: 401, never a pass)', async () => {
    const cookie = await loginCookie()
    const browser = await caddy('/app?sign_out=1', { cookie, accept: 'text/html' })
    assert.equal(browser.status, 302)
    assert.match(browser.setCookie.join('\n'), /gatehouse_session=;.*Max-Age=0/)
    assert.equal((await caddy('/app', { cookie })).status, 401)
    const second = await loginCookie()
    const api = await caddy('/app?sign_out=1', { cookie: second })
    assert.equal(api.status, 401)
    assert.equal(JSON.parse(api.body).logged_out, true)
    const third = await loginCookie()
    const viaNginx = await nginx('/app?sign_out=1', { cookie: third })
    assert.equal(viaNginx.status, 401)
    assert.equal((await nginx('/app', { cookie: third })).status, 401)
  })

  test('malformed original-request headers from a trusted proxy are 400, never 500', async () => {
    const cases: Record<string, string>[] = [{ 'x-original-url': 'not a url' }, { 'x-original-url': 'javascript:alert(1)' }, { 'x-original-url': 'http://user@evil/' }, { 'x-original-uri': 'app' }, { 'x-original-uri': '/a b' }, { 'x-forwarded-uri': '/x', 'x-forwarded-method': 'G E T' }]
    for (const headers of cases) {
      const answer = await raw(gw.url, '/_gatehouse/forward-auth', { headers })
      assert.equal(answer.status, 400, JSON.stringify(headers))
      assert.equal(JSON.parse(answer.body).reason, 'bad_original_request')
      const forNginx = await raw(gw.url, '/_gatehouse/auth', { headers })
      assert.equal(forNginx.status, 400)
      assert.equal(forNginx.headers['gatehouse-reason'], 'bad_original_request')
    }
  })

  test('login behind nginx\'s `Host $host` on a non-standard port is not refused as cross-origin; its rd is accepted', async () => {
    const answer = await raw(gw.url, '/_gatehouse/login', {
      method: 'POST',
      headers: { host: 'app.example.test', origin: 'http://app.example.test:8080', 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'http', 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ username: ALICE.username, password: ALICE.password, rd: 'http://app.example.test:8080/app?x=1&y=2' }).toString(),
    })
    assert.equal(answer.status, 302, answer.body)
    assert.equal(answer.headers.location, 'http://app.example.test:8080/app?x=1&y=2')
    // The audit line carries the client from X-Forwarded-For, not the proxy.
    assert.ok(gw.logs.some((line) => line.includes('"login_success"') && line.includes('198.51.100.7')))
    // Without a proxy in between, a portless Host does not widen the Origin check.
    const direct = await raw(gw.url, '/_gatehouse/login', {
      method: 'POST',
      headers: { host: 'app.example.test', origin: 'http://app.example.test:8080', 'content-type': 'application/json' },
      body: JSON.stringify({ username: ALICE.username, password: ALICE.password }),
    })
    assert.equal(direct.status, 403)
  })

  test('the proxy passes the client, protocol and host a trusted proxy reports to the upstream', async () => {
    const cookie = await loginCookie()
    gw.received.length = 0
    const answer = await raw(gw.url, '/app/x', { headers: { cookie, 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.test' } })
    assert.equal(answer.status, 200)
    const seen = gw.received[0]!
    assert.equal(seen.headers['x-forwarded-for'], '198.51.100.7, 127.0.0.1')
    assert.equal(seen.headers['x-forwarded-proto'], 'https')
    assert.equal(seen.headers['x-forwarded-host'], 'app.example.test')
  })
})

describe('forward-auth and X-Forwarded-* from a peer outside trusted_proxies', () => {
  let gw: TestGateway
  before(async () => {
    gw = await startTestGateway({ trusted_proxies: ['10.0.0.0/8'], routes: [{ path: '/ops', roles: ['ops'] }], session: { cookie: { secure: false } } })
  })
  after(() => gw.close())

  test('forged X-Original-URL / X-Forwarded-Uri are ignored (also malformed ones); X-Forwarded-* do not reach the upstream', async () => {
    const login = await raw(gw.url, '/_gatehouse/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: BOB.username, password: BOB.password }) })
    const bob = pairOf(login.setCookie)!
    // /ops needs the ops role, but from an untrusted peer the check is about the endpoint itself.
    assert.equal((await raw(gw.url, '/_gatehouse/auth', { headers: { cookie: bob, 'x-original-url': 'http://x/ops/a' } })).status, 200)
    assert.equal((await raw(gw.url, '/_gatehouse/forward-auth', { headers: { cookie: bob, 'x-forwarded-uri': 'not-a-path' } })).status, 200)
    gw.received.length = 0
    await raw(gw.url, '/app', { headers: { cookie: bob, 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' } })
    const seen = gw.received[0]!
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
    assert.equal(seen.headers['x-forwarded-proto'], 'http')
    assert.notEqual(seen.headers['x-forwarded-host'], 'evil.test')
  })
})

test('the README shows examples/nginx.conf and examples/Caddyfile exactly as the proxy tests run them', () => {
  const readme = readFileSync('README.md', 'utf8')
  for (const [file, fence] of [['examples/nginx.conf', 'nginx'], ['examples/Caddyfile', 'caddy']] as const) {
    assert.ok(readme.includes(`\`\`\`${fence}\n${readFileSync(file, 'utf8')}\`\`\`\n`), `README.md must quote ${file} verbatim`)
  }
})
