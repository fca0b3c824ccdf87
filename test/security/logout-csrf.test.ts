import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ALICE, get, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { rawRequest } from './raw-http.js'

/**
 * CSRF on logout: another site must not sign the browser out, whatever carries the logout (the
 * endpoint with any method, the logout argument on any path, forward-auth). Each probe is data:
 * `{self}` stands for the gateway's own origin. `out: true` = the session ended.
 */
const APP = 'https://app.example.com'
const ALSO_REDIRECTABLE = 'https://docs.example.com'

interface Probe {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string
  readonly status: number
  readonly out: boolean
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const PROBES: Probe[] = [
  { name: 'GET logout without Origin or Sec-Fetch-Site (curl)', method: 'GET', path: '/_gatehouse/logout', status: 200, out: true },
  { name: 'GET logout, Sec-Fetch-Site: same-origin', method: 'GET', path: '/_gatehouse/logout', headers: { 'sec-fetch-site': 'same-origin' }, status: 200, out: true },
  { name: 'GET logout, Sec-Fetch-Site: same-site (a sibling subdomain, the seed\'s iframe)', method: 'GET', path: '/_gatehouse/logout', headers: { 'sec-fetch-site': 'same-site' }, status: 200, out: true },
  { name: 'GET logout, Sec-Fetch-Site: none (typed into the address bar)', method: 'GET', path: '/_gatehouse/logout', headers: { 'sec-fetch-site': 'none' }, status: 200, out: true },
  { name: 'GET logout, Sec-Fetch-Site: cross-site (a link, image or iframe on another site)', method: 'GET', path: '/_gatehouse/logout', headers: { 'sec-fetch-site': 'cross-site' }, status: 403, out: false },
  { name: 'GET logout, Sec-Fetch-Site: CROSS-SITE (case)', method: 'GET', path: '/_gatehouse/logout', headers: { 'sec-fetch-site': 'CROSS-SITE' }, status: 403, out: false },
  { name: 'GET logout, foreign Origin', method: 'GET', path: '/_gatehouse/logout', headers: { origin: 'https://evil.example' }, status: 403, out: false },
  { name: 'GET logout as a browser page, cross-site: 403, not the redirect', method: 'GET', path: '/_gatehouse/logout?rd=/', headers: { 'sec-fetch-site': 'cross-site', accept: 'text/html' }, status: 403, out: false },
  { name: 'POST logout, own Origin', method: 'POST', path: '/_gatehouse/logout', headers: { origin: '{self}', 'sec-fetch-site': 'same-origin' }, status: 200, out: true },
  { name: 'POST logout, Origin: null (sandboxed frame, data: URL)', method: 'POST', path: '/_gatehouse/logout', headers: { origin: 'null' }, status: 403, out: false },
  { name: 'POST logout, foreign Origin', method: 'POST', path: '/_gatehouse/logout', headers: { origin: 'https://evil.example' }, status: 403, out: false },
  { name: 'POST logout, look-alike Origin', method: 'POST', path: '/_gatehouse/logout', headers: { origin: 'https://app.example.com.evil.example' }, status: 403, out: false },
  { name: 'POST logout, Origin only in allowed_redirect_hosts (not a logout origin)', method: 'POST', path: '/_gatehouse/logout', headers: { origin: ALSO_REDIRECTABLE }, status: 403, out: false },
  { name: 'POST logout from an allowed_origins page, even cross-site (its CORS fetch)', method: 'POST', path: '/_gatehouse/logout', headers: { origin: APP, 'sec-fetch-site': 'cross-site' }, status: 200, out: true },
  { name: 'DELETE logout, foreign Origin', method: 'DELETE', path: '/_gatehouse/logout', headers: { origin: 'https://evil.example' }, status: 403, out: false },
  { name: 'logout argument on any path, no Origin', method: 'GET', path: '/app?session_logout=1', status: 200, out: true },
  { name: 'logout argument on any path, Sec-Fetch-Site: cross-site', method: 'GET', path: '/app?session_logout=1', headers: { 'sec-fetch-site': 'cross-site' }, status: 403, out: false },
  { name: 'logout argument on any path, foreign Origin', method: 'GET', path: '/app?session_logout=1', headers: { origin: 'https://evil.example' }, status: 403, out: false },
  { name: 'logout argument in a cross-site form POST', method: 'POST', path: '/app', headers: { ...FORM, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, body: 'session_logout=1', status: 403, out: false },
  { name: 'logout argument in a same-origin form POST', method: 'POST', path: '/app', headers: { ...FORM, origin: '{self}' }, body: 'session_logout=1', status: 200, out: true },
  { name: 'logout argument through forward-auth (Caddy), cross-site', method: 'GET', path: '/_gatehouse/forward-auth', headers: { 'x-forwarded-method': 'GET', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.example.test', 'x-forwarded-uri': '/app?session_logout=1', 'sec-fetch-site': 'cross-site' }, status: 403, out: false },
  { name: 'logout argument through forward-auth (nginx), foreign Origin', method: 'GET', path: '/_gatehouse/auth', headers: { 'x-original-url': 'http://app.example.test/app?session_logout=1', origin: 'https://evil.example' }, status: 403, out: false },
]

describe('logout CSRF probes', () => {
  let gw: TestGateway
  let self: string
  before(async () => {
    gw = await startTestGateway({ session: { allowed_redirect_hosts: ['docs.example.com'], logout: { allowed_origins: [APP], query_arg: 'session_logout', post_arg: 'session_logout' } } })
    self = new URL(gw.url).origin
  })
  after(() => gw.close())

  for (const probe of PROBES) {
    test(`${probe.name} → ${probe.status}${probe.out ? ', logged out' : ', still signed in'}`, async () => {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const headers: Record<string, string> = { cookie: cookie! }
      for (const [name, value] of Object.entries(probe.headers ?? {})) headers[name] = value.replace('{self}', self)
      const answer = await rawRequest(gw.url, probe.path, headers, probe.method, probe.body)
      assert.equal(answer.status, probe.status, answer.body)
      if (probe.status === 403) {
        // JSON `reason`, nginx's `Gatehouse-Reason` header, or the HTML error page's code.
        assert.ok(answer.reason === 'bad_origin' || answer.headers['gatehouse-reason'] === 'bad_origin' || answer.body.includes('bad_origin'), answer.body)
        assert.equal(answer.headers['access-control-allow-origin'], undefined)
      }
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status === 200, !probe.out, 'whether the session survived')
    })
  }
})

describe('with public_url set, redirect and Origin checks ignore the Host header', () => {
  let gw: TestGateway
  before(async () => (gw = await startTestGateway({ public_url: 'https://gate.example.com', session: { logout: { query_arg: 'session_logout' } } })))
  after(() => gw.close())

  const json = { 'content-type': 'application/json' }
  const credentials = JSON.stringify({ username: ALICE.username, password: ALICE.password })
  // [name, headers, status] for a JSON login: a client-chosen Host no longer makes its Origin "own".
  const logins: [string, Record<string, string>, number][] = [
    ['Origin = public_url', { ...json, host: 'gate.example.com', origin: 'https://gate.example.com' }, 200],
    ['Origin = public_url, whatever the Host', { ...json, host: '127.0.0.1', origin: 'https://gate.example.com' }, 200],
    ['Host and Origin both the attacker\'s', { ...json, host: 'evil.example', origin: 'https://evil.example' }, 403],
    ['X-Forwarded-Host and Origin both the attacker\'s (trusted peer)', { ...json, 'x-forwarded-host': 'evil.example', origin: 'https://evil.example' }, 403],
  ]
  for (const [name, headers, status] of logins) {
    test(`login: ${name} → ${status}`, async () => {
      const answer = await rawRequest(gw.url, '/_gatehouse/login', headers, 'POST', credentials)
      assert.equal(answer.status, status, answer.body)
    })
  }

  test('logout: Host and Origin both the attacker\'s → 403, still signed in', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password, { origin: 'https://gate.example.com' })
    const answer = await rawRequest(gw.url, '/_gatehouse/logout', { cookie: cookie!, host: 'evil.example', origin: 'https://evil.example' }, 'POST')
    assert.equal(answer.status, 403)
    assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
  })

  // rd targets on the login page: the attacker's Host does not make its URL "same origin".
  const targets: [string, string, boolean][] = [
    ['https://gate.example.com/app', 'evil.example', true],
    ['https://evil.example/phish', 'evil.example', false],
    ['/app', 'evil.example', true],
  ]
  for (const [rd, host, kept] of targets) {
    test(`login page rd=${rd} with Host ${host} → ${kept ? 'kept' : 'dropped'}`, async () => {
      const answer = await rawRequest(gw.url, `/_gatehouse/login?rd=${encodeURIComponent(rd)}`, { host })
      assert.equal(answer.status, 200)
      assert.equal(answer.body.includes(`name="rd" value="${rd}"`), kept)
    })
  }
})
