import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ALICE, get, login, sessionCookie, startTestGateway, type TestGateway } from '../helpers/gateway.js'

describe('login', () => {
  let gw: TestGateway
  before(async () => (gw = await startTestGateway()))
  after(() => gw.close())

  test('GET /_gatehouse/login serves an accessible HTML form with no external assets', async () => {
    const response = await get(gw.url, '/_gatehouse/login?rd=/app')
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type')!, /text\/html/)
    assert.match(response.headers.get('content-security-policy')!, /default-src 'none'/)
    // Regression: with `no-referrer` Chromium sent `Origin: null` on the form POST and the login
    // CSRF check refused every browser login with 403.
    assert.equal(response.headers.get('referrer-policy'), 'same-origin')
    const html = await response.text()
    assert.match(html, /<label for="username">/)
    assert.match(html, /<label for="password">/)
    assert.match(html, /name="rd" value="\/app"/)
    assert.doesNotMatch(html, /(src|href)="https?:/)
  })

  test('JSON login with the right password returns 200 JSON and a session cookie', async () => {
    const { response, cookie } = await login(gw.url, ALICE.username, ALICE.password)
    assert.equal(response.status, 200)
    const body = (await response.json()) as any
    assert.equal(body.user, 'alice')
    assert.deepEqual(body.roles, ['admin', 'ops'])
    assert.deepEqual(body.provider, { type: 'form', name: 'form' })
    assert.ok(cookie)
  })

  test('form login redirects to a same-origin rd', async () => {
    const response = await fetch(`${gw.url}/_gatehouse/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: ALICE.username, password: ALICE.password, rd: '/dashboards?x=1' }),
      redirect: 'manual',
    })
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), '/dashboards?x=1')
    assert.ok(sessionCookie(response))
  })

  test('cookie flags: HttpOnly, Secure, SameSite=Strict, Path=/, default name', async () => {
    const { response } = await login(gw.url, ALICE.username, ALICE.password)
    const line = response.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='))!
    assert.match(line, /; HttpOnly/)
    assert.match(line, /; Secure/)
    assert.match(line, /; SameSite=Strict/)
    assert.match(line, /; Path=\//)
    const value = line.split(';')[0]!.split('=')[1]!
    // 256-bit id plus MAC: far more than the 128 bits required.
    assert.ok(value.length >= 43, `cookie value too short: ${value.length}`)
  })

  test('wrong password and unknown user get the same 401 message', async () => {
    const wrong = await login(gw.url, ALICE.username, 'nope')
    const unknown = await login(gw.url, 'mallory', 'nope')
    assert.equal(wrong.response.status, 401)
    assert.equal(unknown.response.status, 401)
    assert.deepEqual(await wrong.response.json(), await unknown.response.json())
    assert.equal(wrong.cookie, undefined)
  })

  test('a failed form login re-renders the form with an alert and 401', async () => {
    const response = await fetch(`${gw.url}/_gatehouse/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=bad',
      redirect: 'manual',
    })
    assert.equal(response.status, 401)
    assert.match(await response.text(), /role="alert"/)
  })

  test('unknown users take about as long as known users (no user enumeration by timing)', async () => {
    const time = async (username: string) => {
      const start = performance.now()
      await login(gw.url, username, 'wrong-password')
      return performance.now() - start
    }
    await time('alice')
    const known: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 5; i++) {
      known.push(await time('alice'))
      unknown.push(await time(`ghost${i}`))
      // A success resets alice's failure count: this test times password checks, so it must stay
      // under auth.login_limit (blocked attempts are answered without one, and much faster).
      await login(gw.url, ALICE.username, ALICE.password)
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[2]!
    const ratio = median(unknown) / median(known)
    assert.ok(ratio > 0.5 && ratio < 2, `unknown/known login time ratio ${ratio.toFixed(2)}`)
  })

  test('malformed bodies get 400, never 500', async () => {
    const cases: [string, string][] = [
      ['application/json', '{"username":'],
      ['application/json', '[]'],
      ['application/json', '{"username": 1, "password": {}}'],
      ['application/x-www-form-urlencoded', 'username=alice'],
      ['text/plain', 'hello'],
    ]
    for (const [type, body] of cases) {
      const response = await fetch(`${gw.url}/_gatehouse/login`, { method: 'POST', headers: { 'content-type': type }, body })
      assert.ok(response.status >= 400 && response.status < 500, `${type} ${body} → ${response.status}`)
      const json = (await response.json()) as any
      assert.ok(json.error)
    }
  })

  test('a cross-site Origin cannot log a browser in (login CSRF)', async () => {
    const { response } = await login(gw.url, ALICE.username, ALICE.password, { origin: 'https://evil.example' })
    assert.equal(response.status, 403)
  })

  test('logs never contain the password or the cookie value', async () => {
    const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
    await get(gw.url, '/x', { cookie: cookie! })
    const all = gw.logs.join('')
    assert.ok(!all.includes(ALICE.password))
    assert.ok(!all.includes(cookie!.split('=')[1]!))
    assert.match(all, /"event":"login_success"/)
    assert.match(all, /"event":"login_failure"/)
  })
})
