import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'
import { ALICE, get, login, startTestGateway } from '../helpers/gateway.js'

const HOUR = 3600_000
const sessionLine = (response: Response) => response.headers.getSetCookie().find((line) => line.startsWith('gatehouse_session='))!
const maxAge = (line: string) => Number(/Max-Age=(\d+)/.exec(line)?.[1] ?? NaN)

function problems(document: Record<string, unknown>): string[] {
  try {
    parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], ...document }, {})
  } catch (error) {
    assert.ok(error instanceof ConfigInvalid)
    return [...error.problems]
  }
  return []
}

async function formLogin(base: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/_gatehouse/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ username: ALICE.username, password: ALICE.password, ...fields }),
    redirect: 'manual',
  })
}

/** node:http, because fetch() does not let a test choose the Host header. */
function send(base: string, path: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; setCookie: string[] }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode!, setCookie: res.headers['set-cookie'] ?? [] }))
    })
    req.on('error', reject)
    req.end(body)
  })
}
const lineOf = (lines: string[]) => lines.find((line) => line.startsWith('gatehouse_session='))!

describe('session cookie: remember-me', () => {
  test('by default the cookie ends with the browser (no Max-Age/Expires) and the form has no "Remember me"', async () => {
    const gw = await startTestGateway()
    try {
      const { response } = await login(gw.url, ALICE.username, ALICE.password)
      assert.doesNotMatch(sessionLine(response), /Max-Age|Expires/)
      assert.doesNotMatch(await (await get(gw.url, '/_gatehouse/login')).text(), /Remember me/)
      // Asking to be remembered while remember-me is off changes nothing.
      const asked = await fetch(`${gw.url}/_gatehouse/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ALICE.username, password: ALICE.password, remember: true }) })
      assert.doesNotMatch(sessionLine(asked), /Max-Age/)
    } finally {
      await gw.close()
    }
  })

  test('enabled: the form shows an unticked checkbox; ticked (form) or "remember": true (JSON) the cookie persists; renewals keep the choice', async () => {
    const gw = await startTestGateway({ session: { remember_me: { enabled: true, lifespan: '7d' }, lifespan: '30d', rolling_timeout: '1h' } })
    try {
      const page = await (await get(gw.url, '/_gatehouse/login')).text()
      assert.match(page, /<input id="remember" name="remember" type="checkbox" value="on"> Remember me/)
      const ticked = await formLogin(gw.url, { remember: 'on' })
      assert.equal(ticked.status, 302)
      assert.equal(maxAge(sessionLine(ticked)), 7 * 24 * 3600)
      const unticked = await formLogin(gw.url, {})
      assert.doesNotMatch(sessionLine(unticked), /Max-Age|Expires/)
      const json = await fetch(`${gw.url}/_gatehouse/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ALICE.username, password: ALICE.password, remember: true }) })
      assert.equal(maxAge(sessionLine(json)), 7 * 24 * 3600)
      // In JSON only the boolean true remembers.
      for (const remember of ['on', 'true', 1]) {
        const stringly = await fetch(`${gw.url}/_gatehouse/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ALICE.username, password: ALICE.password, remember }) })
        assert.doesNotMatch(sessionLine(stringly), /Max-Age/, JSON.stringify(remember))
      }
      // A failed form login keeps the box as the user left it.
      const failed = await formLogin(gw.url, { password: 'wrong', remember: 'on' })
      assert.equal(failed.status, 401)
      assert.match(await failed.text(), /type="checkbox" value="on" checked> Remember me/)

      gw.clock.advance(2 * HOUR)
      const renewedRemembered = await get(gw.url, '/x', { cookie: sessionLine(ticked).split(';')[0]! })
      assert.equal(renewedRemembered.status, 200)
      assert.equal(maxAge(sessionLine(renewedRemembered)), 7 * 24 * 3600 - 2 * 3600)
      const renewedPlain = await get(gw.url, '/x', { cookie: sessionLine(unticked).split(';')[0]! })
      assert.equal(renewedPlain.status, 200)
      assert.doesNotMatch(sessionLine(renewedPlain), /Max-Age|Expires/)
    } finally {
      await gw.close()
    }
  })

  test('cookie storage: the choice travels in the sealed session, renewals keep or omit Max-Age', async () => {
    const gw = await startTestGateway({ session: { storage: 'cookie', remember_me: { enabled: true, lifespan: '1d' }, rolling_timeout: '1h' } })
    try {
      const remembered = await formLogin(gw.url, { remember: 'on' })
      const plain = await formLogin(gw.url, {})
      gw.clock.advance(2 * HOUR)
      assert.equal(maxAge(sessionLine(await get(gw.url, '/x', { cookie: sessionLine(remembered).split(';')[0]! }))), 22 * 3600)
      assert.doesNotMatch(sessionLine(await get(gw.url, '/x', { cookie: sessionLine(plain).split(';')[0]! })), /Max-Age/)
    } finally {
      await gw.close()
    }
  })

  test('config: remember_me defaults and a bad lifespan name the key', () => {
    const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }, {})
    assert.deepEqual(config.session.remember_me, { enabled: false, lifespan: 30 * 24 * HOUR })
    assert.match(problems({ session: { remember_me: { enabled: true, lifespan: 'soon' } } }).join('\n'), /session\.remember_me\.lifespan/)
  })
})

describe('session cookie: Partitioned and domains', () => {
  test('partitioned adds Partitioned to the cookie and to its deletion; it needs same_site: none', async () => {
    assert.match(problems({ session: { cookie: { partitioned: true } } }).join('\n'), /session\.cookie\.partitioned: requires same_site: none/)
    const gw = await startTestGateway({ session: { cookie: { partitioned: true, same_site: 'none' } } })
    try {
      const { response, cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.match(sessionLine(response), /; Secure; SameSite=None; Partitioned$/)
      const out = await fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie: cookie! } })
      assert.match(sessionLine(out), /Partitioned; Max-Age=0/)
    } finally {
      await gw.close()
    }
  })

  test('config: domain and domains together, overlapping or malformed entries, and a public_url under none are errors naming the key', () => {
    assert.match(problems({ session: { cookie: { domain: 'a.com', domains: ['b.com'] } } }).join('\n'), /session\.cookie\.domains: set either domain/)
    assert.match(problems({ session: { cookie: { domains: ['example.com', 'app.example.com'] } } }).join('\n'), /session\.cookie\.domains\[1\]: "app\.example\.com" is under "example\.com"/)
    assert.match(problems({ session: { cookie: { domains: ['exa mple.com'] } } }).join('\n'), /session\.cookie\.domains\[0\]: expected a domain/)
    assert.match(problems({ public_url: 'https://gate.other.org', session: { cookie: { domains: ['example.com'] } } }).join('\n'), /session\.cookie\.domains: public_url's host/)
    assert.deepEqual(problems({ session: { cookie: { domains: ['example.com', '.example.org'] } } }), [])
  })

  // [Host header, trusted X-Forwarded-Host, expected Domain (undefined: host-only)]
  const probes: [string, string | undefined, string | undefined][] = [
    ['app.example.com', undefined, 'example.com'],
    ['example.com', undefined, 'example.com'],
    ['a.b.example.org:8443', undefined, 'example.org'],
    ['APP.EXAMPLE.COM', undefined, 'example.com'],
    ['app.example.com.', undefined, 'example.com'],
    ['evil-example.com', undefined, undefined],
    ['example.com.evil.net', undefined, undefined],
    ['127.0.0.1', undefined, undefined],
    ['gate.internal', 'shop.example.org', 'example.org'],
  ]
  for (const [host, forwarded, expected] of probes) {
    test(`domains [example.com, example.org]: Host ${host}${forwarded ? ` via X-Forwarded-Host ${forwarded}` : ''} → ${expected ?? 'host-only'}`, async () => {
      const gw = await startTestGateway({ session: { cookie: { domains: ['example.com', 'example.org'] } } })
      try {
        const headers = { host, ...(forwarded ? { 'x-forwarded-host': forwarded } : {}) }
        const response = await send(gw.url, '/_gatehouse/login', 'POST', { ...headers, 'content-type': 'application/json' }, JSON.stringify({ username: ALICE.username, password: ALICE.password }))
        assert.equal(response.status, 200)
        const line = lineOf(response.setCookie)
        assert.equal(/Domain=([^;]+)/.exec(line)?.[1], expected)
        // Logout expires the cookie for the same domain.
        const out = await send(gw.url, '/_gatehouse/logout', 'POST', { ...headers, cookie: line.split(';')[0]! })
        const expired = lineOf(out.setCookie)
        assert.match(expired, /Max-Age=0/)
        assert.equal(/Domain=([^;]+)/.exec(expired)?.[1], expected)
      } finally {
        await gw.close()
      }
    })
  }

  test('public_url set: its host picks the domain, whatever the Host header says', async () => {
    const gw = await startTestGateway({ public_url: 'https://gate.example.org', session: { cookie: { domains: ['example.com', 'example.org'] } } })
    try {
      const response = await send(gw.url, '/_gatehouse/login', 'POST', { host: 'app.example.com', 'content-type': 'application/json' }, JSON.stringify({ username: ALICE.username, password: ALICE.password }))
      assert.match(lineOf(response.setCookie), /; Domain=example\.org/)
    } finally {
      await gw.close()
    }
  })
})
