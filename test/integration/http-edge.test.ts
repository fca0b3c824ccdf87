import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { ALICE, BOB, get, login, SECRET, startTestGateway } from '../helpers/gateway.js'

/** An upstream whose /events sends one SSE event, stays silent for `silenceMs`, then sends another and ends. */
async function startSseUpstream(silenceMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url!.endsWith('/slow-headers')) return void setTimeout(() => res.writeHead(200).end('late'), silenceMs)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    res.write('data: first\n\n')
    setTimeout(() => res.end('data: second\n\n'), silenceMs)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Reads a whole streamed answer; `cut` when the connection ended before the body did. */
function stream(base: string, path: string, cookie: string): Promise<{ status: number; body: string; cut: boolean; ms: number }> {
  const url = new URL(base)
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body, cut: false, ms: Date.now() - started }))
      res.on('error', () => resolve({ status: res.statusCode!, body, cut: true, ms: Date.now() - started }))
      res.on('aborted', () => resolve({ status: res.statusCode!, body, cut: true, ms: Date.now() - started }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('idle streams (SSE, long polling)', () => {
  test('a stream silent for longer than the header timeout stays open until the upstream closes it', async () => {
    const upstream = await startSseUpstream(1_500)
    const gw = await startTestGateway({ upstream: { url: upstream.url, timeout: '400ms' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const result = await stream(gw.url, '/events', cookie!)
      assert.equal(result.status, 200)
      assert.equal(result.cut, false)
      assert.equal(result.body, 'data: first\n\ndata: second\n\n')
      assert.ok(result.ms >= 1_400, `the stream lasted ${result.ms} ms`)
      // The header timeout still applies to the start of an answer.
      assert.equal((await get(gw.url, '/slow-headers', { cookie: cookie! })).status, 504)
    } finally {
      await gw.close()
      await upstream.close()
    }
  })

  test('upstream.idle_timeout, when set, cuts a silent stream mid-body', async () => {
    const upstream = await startSseUpstream(1_500)
    const gw = await startTestGateway({ upstream: { url: upstream.url, timeout: '5s', idle_timeout: '300ms' } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      const result = await stream(gw.url, '/events', cookie!)
      assert.equal(result.status, 200)
      assert.equal(result.cut, true)
      assert.equal(result.body, 'data: first\n\n')
      assert.ok(result.ms < 1_400, `cut after ${result.ms} ms`)
    } finally {
      await gw.close()
      await upstream.close()
    }
  })

  test('idle_timeout: off by default, a duration, or 0/false for off; also per route', () => {
    const base = { secrets: [SECRET] }
    assert.equal(parseConfig({ ...base, upstream: 'http://127.0.0.1:1' }, {}).upstream!.idle_timeout, null)
    assert.equal(parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1' } }, {}).upstream!.idle_timeout, null)
    assert.equal(parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1', idle_timeout: '5m' } }, {}).upstream!.idle_timeout, 300_000)
    assert.equal(parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1', idle_timeout: 0 } }, {}).upstream!.idle_timeout, null)
    const routed = parseConfig({ ...base, routes: [{ path: '/feed', upstream: { url: 'http://127.0.0.1:1', idle_timeout: '90s' } }] }, {})
    assert.equal(routed.routes[0]!.upstream!.idle_timeout, 90_000)
    assert.throws(() => parseConfig({ ...base, upstream: { url: 'http://127.0.0.1:1', idle_timeout: 'soon' } }, {}))
  })
})

function assertPage(response: Response, status: number, body: string): void {
  assert.equal(response.status, status)
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
  assert.equal(response.headers.get('cache-control'), 'no-store')
  assert.match(body, new RegExp(`<h1>${status} `))
  assert.doesNotMatch(body, /<script|<link|src=|url\(|https?:\/\//i, 'no external assets, no script')
  assert.doesNotMatch(body, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/, 'no stack trace')
}

describe('error pages for browsers, JSON for API clients', () => {
  const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }

  test('proxy path: 401 → login redirect, 403, 404, 502, 503, 504 as plain pages; JSON without Accept: text/html', async () => {
    const slow = await startSseUpstream(1_000)
    const dead = createServer()
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`
    await new Promise<void>((resolve) => dead.close(() => resolve()))
    const gw = await startTestGateway({
      upstream: undefined,
      routes: [
        { path: '/app', upstream: slow.url, methods: ['session'] },
        { path: '/ops', upstream: slow.url, roles: ['admin'] },
        { path: '/slow', upstream: { url: slow.url, timeout: '200ms' } },
        { path: '/down', upstream: deadUrl },
        { path: '/maintenance', upstream: slow.url, auth: 'optional', deny_anonymous: { status: 503, message: 'back <soon> & "later"' } },
      ],
      auth: { anonymous: { enabled: true } },
    })
    try {
      const signedOut = await get(gw.url, '/app/x', HTML)
      assert.equal(signedOut.status, 302)
      assert.match(signedOut.headers.get('location')!, /^\/_gatehouse\/login\?rd=/)
      const bob = (await login(gw.url, BOB.username, BOB.password)).cookie!
      const forbidden = await get(gw.url, '/ops/x', { ...HTML, cookie: bob })
      assertPage(forbidden, 403, await forbidden.text())
      const missing = await get(gw.url, '/nowhere', { ...HTML, cookie: bob })
      assertPage(missing, 404, await missing.text())
      const down = await get(gw.url, '/down/x', { ...HTML, cookie: bob })
      assertPage(down, 502, await down.text())
      const late = await get(gw.url, '/slow-headers', { ...HTML, cookie: bob })
      assert.equal(late.status, 404) // outside every route
      const timeout = await get(gw.url, '/slow/slow-headers', { ...HTML, cookie: bob })
      assert.equal(timeout.status, 504)
      assertPage(timeout, 504, await timeout.text())
      const maintenance = await get(gw.url, '/maintenance/x', HTML)
      const text = await maintenance.text()
      assertPage(maintenance, 503, text)
      assert.ok(text.includes('back &#60;soon&#62; &#38; &#34;later&#34;'), 'the configured message is escaped')
      assert.ok(!text.includes('<soon>'))
      // API clients keep JSON.
      for (const [path, status] of [['/ops/x', 403], ['/nowhere', 404], ['/down/x', 502]] as const) {
        const json = await get(gw.url, path, { cookie: bob, accept: 'application/json' })
        assert.equal(json.status, status)
        assert.match(json.headers.get('content-type')!, /^application\/json/)
        assert.ok(((await json.json()) as { code?: string }).code)
      }
      const api = await get(gw.url, '/app/x')
      assert.equal(api.status, 401)
      assert.equal(((await api.json()) as { reason?: string }).reason, 'no_credentials')
      // A browser's POST cannot be redirected to the login page: a 401 page.
      const post = await fetch(`${gw.url}/app/form`, { method: 'POST', headers: HTML, body: 'a=1', redirect: 'manual' })
      assertPage(post, 401, await post.text())
    } finally {
      await gw.close()
      await slow.close()
    }
  })

  test("gateway endpoints: 404 and 401 pages (with a sign-in link) for browsers, JSON for API clients", async () => {
    const gw = await startTestGateway()
    try {
      const missing = await get(gw.url, '/_gatehouse/nope', HTML)
      assertPage(missing, 404, await missing.text())
      assert.equal(((await (await get(gw.url, '/_gatehouse/nope')).json()) as { code?: string }).code, 'ERR_ROUTE_NOT_FOUND')
      const session = await get(gw.url, '/_gatehouse/session', HTML)
      const text = await session.text()
      assertPage(session, 401, text)
      assert.ok(text.includes('href="/_gatehouse/login?rd=%2F_gatehouse%2Fsession"'))
      assert.equal((await get(gw.url, '/_gatehouse/session')).headers.get('content-type'), 'application/json; charset=utf-8')
    } finally {
      await gw.close()
    }
  })

  test('the admin page offers a sign-in link when signed out (shown by its script on a 401)', async () => {
    const gw = await startTestGateway()
    try {
      const page = await get(gw.url, '/_gatehouse/admin/', HTML)
      const html = await page.text()
      assert.equal(page.status, 200)
      assert.match(html, /<p id="signin"[^>]*hidden>[^<]*<a href="\/_gatehouse\/login\?rd=%2F_gatehouse%2Fadmin%2F">Sign in<\/a>/)
      const script = await (await get(gw.url, '/_gatehouse/admin/app.js')).text()
      assert.match(script, /signin\.hidden = error\.status !== 401/)
      // The link leads to a login that comes back to the admin page.
      const loginPage = await get(gw.url, '/_gatehouse/login?rd=%2F_gatehouse%2Fadmin%2F', HTML)
      assert.equal(loginPage.status, 200)
    } finally {
      await gw.close()
    }
  })
})
