import assert from 'node:assert/strict'
import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { ALICE, get, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'

/** Raw HTTP so header names keep their exact spelling and duplicates stay duplicates. */
function rawGet(base: string, path: string, rawHeaders: string[]): Promise<{ status: number; body: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers: ['Host', url.host, ...rawHeaders] }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('reverse proxy with identity headers', () => {
  let gw: TestGateway
  let cookie: string
  before(async () => {
    gw = await startTestGateway()
    cookie = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
  })
  after(() => gw.close())

  test('the verified identity reaches the upstream in X-Forwarded-User/Groups/Email', async () => {
    const response = await get(gw.url, '/app/page?q=1', { cookie })
    assert.equal(response.status, 200)
    const seen = gw.received.at(-1)!
    assert.equal(seen.url, '/app/page?q=1')
    assert.equal(seen.headers['x-forwarded-user'], 'alice')
    assert.equal(seen.headers['x-forwarded-groups'], 'admin,ops')
    assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com')
  })

  test('client-forged identity headers never reach the upstream, in any spelling or number', async () => {
    const forged = [
      'X-Forwarded-User', 'mallory',
      'x-forwarded-user', 'mallory2',
      'X_Forwarded_User', 'mallory3',
      'x-forwarded_user', 'mallory4',
      'X-FORWARDED-GROUPS', 'root',
      'X_Forwarded_Groups', 'root',
      'X-Forwarded-Email', 'm@evil',
      'Remote-User', 'mallory5',
      'X-Auth-Request-User', 'mallory6',
    ]
    for (const withSession of [true, false]) {
      const headers = withSession ? [...forged, 'Cookie', cookie] : forged
      const before = gw.received.length
      const result = await rawGet(gw.url, '/public-check', headers)
      if (!withSession) {
        assert.equal(result.status, 401)
        assert.equal(gw.received.length, before, 'an unauthenticated request must not reach the upstream')
        continue
      }
      assert.equal(result.status, 200)
      const seen = gw.received.at(-1)!
      const names = Object.keys(seen.headers)
      assert.equal(seen.headers['x-forwarded-user'], 'alice')
      assert.equal(seen.headers['x-forwarded-groups'], 'admin,ops')
      assert.equal(seen.headers['x-forwarded-email'], 'alice@example.com')
      assert.ok(!names.some((n) => n.includes('_')), `underscore variant forwarded: ${names}`)
      assert.equal(seen.headers['remote-user'], undefined)
      assert.equal(seen.headers['x-auth-request-user'], undefined)
      assert.ok(!JSON.stringify(seen.headers).includes('mallory'))
    }
  })

  test('the gateway cookie is removed from the Cookie header; other cookies pass', async () => {
    await get(gw.url, '/c', { cookie: `theme=dark; ${cookie}; lang=en` })
    const seen = gw.received.at(-1)!
    assert.equal(seen.headers.cookie, 'theme=dark; lang=en')
    await get(gw.url, '/c2', { cookie })
    assert.equal(gw.received.at(-1)!.headers.cookie, undefined)
  })

  test('unauthenticated browsers are redirected to the login page with rd; APIs get 401 JSON', async () => {
    const browser = await get(gw.url, '/dash/board?x=1', { accept: 'text/html,application/xhtml+xml' })
    assert.equal(browser.status, 302)
    assert.equal(browser.headers.get('location'), `/_gatehouse/login?rd=${encodeURIComponent('/dash/board?x=1')}`)
    const api = await get(gw.url, '/api/things')
    assert.equal(api.status, 401)
    assert.deepEqual(Object.keys((await api.json()) as object).sort(), ['code', 'error', 'message', 'reason'])
  })

  test('request and response bodies are streamed both ways', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024)
    const response = await fetch(`${gw.url}/upload`, { method: 'POST', headers: { cookie, 'content-type': 'application/octet-stream' }, body: big })
    assert.equal(response.status, 200)
    const echoed = (await response.json()) as { body: string; method: string }
    assert.equal(echoed.method, 'POST')
    assert.equal(echoed.body.length, big.length)
  })

  test('an upload with Expect: 100-continue (curl, bodies over 1 MiB) reaches the upstream whole', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x61)
    const { port, hostname } = new URL(gw.url)
    const { request } = await import('node:http')
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: hostname, port, path: '/upload', method: 'POST', headers: { cookie: cookie!, expect: '100-continue', 'content-length': body.length, 'content-type': 'application/octet-stream' } })
      req.on('continue', () => req.end(body))
      req.on('response', (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      })
      req.on('error', reject)
    })
    assert.equal(answer.status, 200)
    const echoed = JSON.parse(answer.text) as { body: string; headers: Record<string, string> }
    assert.equal(echoed.body.length, body.length)
    assert.equal(echoed.headers.expect, undefined)
  })

  test('paths under the gateway prefix are never proxied', async () => {
    const before = gw.received.length
    const response = await get(gw.url, '/_gatehouse/nothing-here', { cookie })
    assert.equal(response.status, 404)
    assert.equal(gw.received.length, before)
  })

  test('path tricks are refused with 400 before any routing decision', async () => {
    for (const path of ['/a/../b', '/a/%2e%2e/b', '/a/%2E%2E%2Fb', '/a/..%5cb', '/%', '/a/%zz']) {
      const result = await rawGet(gw.url, path, ['Cookie', cookie])
      assert.equal(result.status, 400, path)
    }
  })

  test('a client-chosen session cookie is never adopted (no fixation)', async () => {
    const chosen = 'gatehouse_session=attacker-chosen-value'
    const denied = await get(gw.url, '/x', { cookie: chosen })
    assert.equal(denied.status, 401)
    const { cookie: issued } = await login(gw.url, ALICE.username, ALICE.password, { cookie: chosen })
    assert.ok(issued)
    assert.notEqual(issued, chosen)
    assert.equal((await get(gw.url, '/x', { cookie: chosen })).status, 401)
    // An existing valid session sent along with a login is replaced, not kept.
    const { cookie: second } = await login(gw.url, ALICE.username, ALICE.password, { cookie: issued! })
    assert.notEqual(second, issued)
    assert.equal((await get(gw.url, '/x', { cookie: issued! })).status, 401)
    assert.equal((await get(gw.url, '/x', { cookie: second! })).status, 200)
  })

  test('100 malformed session cookies get 401, never a 5xx', async () => {
    const valid = cookie.split('=')[1]!
    const samples: string[] = ['', '.', '..', '=', '"', '""', 'a.b', '%', '%zz', '\u00ff', 'x'.repeat(8000), valid + 'x', valid.slice(0, -1), valid.replace(/./, '.'), `${valid}.${valid}`]
    for (let i = 0; samples.length < 100; i++) {
      const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&\'()*+,:@'
      const length = 1 + ((i * 37) % 120)
      let value = ''
      for (let j = 0; j < length; j++) value += chars[(i * 31 + j * 17) % chars.length]
      samples.push(value)
    }
    for (const value of samples) {
      const result = await rawGet(gw.url, '/x', ['Cookie', `gatehouse_session=${value}`])
      assert.equal(result.status, 401, `cookie ${JSON.stringify(value.slice(0, 40))} → ${result.status}`)
    }
  })

  test('whoami describes the session; healthz and readyz answer', async () => {
    const whoami = await get(gw.url, '/_gatehouse/session', { cookie })
    assert.equal(whoami.status, 200)
    const body = (await whoami.json()) as Record<string, unknown>
    assert.deepEqual(Object.keys(body).sort(), ['created_at', 'email', 'idle_expires_at', 'lifespan_expires_at', 'provider', 'roles', 'user'])
    assert.equal((await get(gw.url, '/_gatehouse/session')).status, 401)
    assert.equal((await get(gw.url, '/_gatehouse/healthz')).status, 200)
    assert.equal((await get(gw.url, '/_gatehouse/readyz')).status, 200)
    const metrics = await (await get(gw.url, '/_gatehouse/metrics')).text()
    assert.match(metrics, /gatehouse_http_requests_total/)
  })

  test('forward-auth answers 200 with identity headers, or 401', async () => {
    const ok = await get(gw.url, '/_gatehouse/auth', { cookie })
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('x-forwarded-user'), 'alice')
    assert.equal((await get(gw.url, '/_gatehouse/auth')).status, 401)
  })
})

describe('upstream failures and routes', () => {
  test('an unreachable upstream gives 502 JSON; a slow one gives 504', async () => {
    const slow = createServer((_req, res) => setTimeout(() => res.end('late'), 2000))
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
    await new Promise<void>((resolve) => closed.close(() => resolve()))

    const gw = await startTestGateway({
      routes: [
        { path: '/down', upstream: closedUrl },
        { path: '/slow', upstream: { url: slowUrl, timeout: '200ms' } },
        { path: '/public', auth: 'none' },
      ],
    })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const down = await get(gw.url, '/down/x', { cookie: cookie! })
      assert.equal(down.status, 502)
      assert.equal(((await down.json()) as { code: string }).code, 'ERR_UPSTREAM_UNAVAILABLE')
      const late = await get(gw.url, '/slow/x', { cookie: cookie! })
      assert.equal(late.status, 504)
      assert.equal(((await late.json()) as { code: string }).code, 'ERR_UPSTREAM_TIMEOUT')
      // Longest prefix wins; the default upstream serves the rest; auth: none needs no session.
      const open = await get(gw.url, '/public/page')
      assert.equal(open.status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], undefined)
      const forged = await get(gw.url, '/public/page', { 'x-forwarded-user': 'mallory' })
      assert.equal(forged.status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], undefined)
      assert.equal((await get(gw.url, '/publicity')).status, 401, '/publicity is not under /public')
    } finally {
      await gw.close()
      slow.closeAllConnections()
      slow.close()
    }
  })

  test('a path whose readings select different routes is refused', async () => {
    const gw = await startTestGateway({ routes: [{ path: '/public', auth: 'none' }] })
    try {
      for (const path of ['/public%2f..%2fadmin', '/public%2Fsecret', '//public/x', '/public\\x']) {
        const result = await rawGet(gw.url, path, [])
        assert.ok(result.status === 400 || result.status === 401, `${path} → ${result.status}`)
      }
    } finally {
      await gw.close()
    }
  })
})
