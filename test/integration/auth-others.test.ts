import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { ALICE, get, login, startTestGateway } from '../helpers/gateway.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const KEY = 'open-sesame-0123456789'

describe('API keys (Kong key-auth)', () => {
  const config = { auth: { apikey: { header: 'X-API-Key', query: 'apikey', keys: [{ key: KEY, user: 'ci-bot', roles: ['ci'] }, { key_sha256: createHash('sha256').update('hashed-key-abcdefghij').digest('hex'), user: 'other', roles: [] }] } } }

  test('header and query keys authenticate; both are removed before proxying', async () => {
    const gw = await startTestGateway(config)
    try {
      assert.equal((await get(gw.url, '/builds', { 'x-api-key': KEY })).status, 200)
      let seen = gw.received.at(-1)!
      assert.equal(seen.headers['x-forwarded-user'], 'ci-bot')
      assert.equal(seen.headers['x-api-key'], undefined)
      assert.equal((await get(gw.url, `/builds?page=2&apikey=${KEY}`)).status, 200)
      seen = gw.received.at(-1)!
      assert.equal(seen.url, '/builds?page=2')
      assert.equal((await get(gw.url, '/x', { 'x-api-key': 'hashed-key-abcdefghij' })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'other')
    } finally {
      await gw.close()
    }
  })

  test('an unknown key is 401 unknown_api_key', async () => {
    const gw = await startTestGateway(config)
    try {
      const response = await get(gw.url, '/x', { 'x-api-key': 'wrong-key-000000000' })
      assert.equal(response.status, 401)
      assert.equal(((await response.json()) as { reason: string }).reason, 'unknown_api_key')
    } finally {
      await gw.close()
    }
  })
})

describe('HTTP Basic against the internal users', () => {
  test('success, wrong password, malformed header; WWW-Authenticate on 401', async () => {
    const gw = await startTestGateway({ auth: { basic: { enabled: true, realm: 'Kibana' } } })
    try {
      assert.equal((await get(gw.url, '/x', { authorization: basic(ALICE.username, ALICE.password) })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'alice')
      const wrong = await get(gw.url, '/x', { authorization: basic(ALICE.username, 'nope') })
      assert.equal(wrong.status, 401)
      assert.equal(((await wrong.json()) as { reason: string }).reason, 'invalid_credentials')
      assert.equal(wrong.headers.get('www-authenticate'), 'Basic realm="Kibana", charset="UTF-8"')
      const none = await get(gw.url, '/x')
      assert.equal(none.status, 401)
      assert.match(none.headers.get('www-authenticate')!, /^Basic realm="Kibana"/)
      const malformed = await get(gw.url, '/x', { authorization: 'Basic !!!' })
      assert.equal(((await malformed.json()) as { reason: string }).reason, 'malformed_credentials')
    } finally {
      await gw.close()
    }
  })
})

describe('external Basic (ROR)', () => {
  async function authService(valid: Record<string, string>) {
    const calls: IncomingMessage['headers'][] = []
    const server = createServer((req, res) => {
      calls.push(req.headers)
      const [user, password] = Buffer.from(String(req.headers.authorization ?? '').slice(6), 'base64').toString().split(':')
      res.writeHead(valid[user!] === password ? 200 : 401).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return { server, calls, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/check` }
  }

  test('200 is valid (and cached), 401 is rejected, a dead service is 503', async () => {
    const service = await authService({ erin: 'pw-erin' })
    const gw = await startTestGateway({ auth: { external_basic: { url: service.url, cache_ttl: '60s', timeout: '1s' } } })
    try {
      assert.equal((await get(gw.url, '/x', { authorization: basic('erin', 'pw-erin') })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'erin')
      assert.equal((await get(gw.url, '/x', { authorization: basic('erin', 'pw-erin') })).status, 200)
      assert.equal(service.calls.length, 1, 'the second request was served from the cache')
      const wrong = await get(gw.url, '/x', { authorization: basic('erin', 'bad') })
      assert.equal(wrong.status, 401)
      assert.equal(service.calls.length, 2, 'failures are not cached')

      gw.clock.advance(61_000)
      service.server.closeAllConnections()
      await new Promise<void>((resolve) => service.server.close(() => resolve()))
      const down = await get(gw.url, '/x', { authorization: basic('erin', 'pw-erin') })
      assert.equal(down.status, 503)
      assert.equal(((await down.json()) as { reason: string }).reason, 'external_auth_unavailable')
    } finally {
      await gw.close()
      service.server.close()
    }
  })
})

describe('anonymous and per-route rules', () => {
  // Contract "Anonymous": the anonymous identity passes `auth: optional` routes only; `auth: required`
  // (the default) treats it as no credentials (was: it passed every route).
  test('anonymous passes optional routes as the configured identity; required routes want real credentials; a route can terminate it', async () => {
    const gw = await startTestGateway({
      auth: { anonymous: { enabled: true, user: 'guest' } },
      routes: [
        { path: '/public', auth: 'optional' },
        { path: '/private', deny_anonymous: { status: 403, message: 'So long and thanks for all the fish!' } },
        { path: '/admin', roles: ['admin'] },
      ],
    })
    try {
      assert.equal((await get(gw.url, '/public')).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'guest')
      const denied = await get(gw.url, '/private/x')
      assert.equal(denied.status, 403)
      assert.equal(((await denied.json()) as { message: string }).message, 'So long and thanks for all the fish!')
      const required = await get(gw.url, '/admin')
      assert.equal(required.status, 401)
      assert.equal(((await required.json()) as { reason: string }).reason, 'no_credentials')
      const browser = await get(gw.url, '/admin?x=1', { accept: 'text/html' })
      assert.equal(browser.status, 302, 'a browser gets the login page, not the anonymous identity')
      assert.equal(browser.headers.get('location'), `/_gatehouse/login?rd=${encodeURIComponent('/admin?x=1')}`)
      const forwardAuth = await get(gw.url, '/_gatehouse/auth', { 'x-original-uri': '/admin' })
      assert.equal(forwardAuth.status, 401, 'forward-auth applies the same rule')
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal((await get(gw.url, '/private/x', { cookie: cookie! })).status, 200)
      assert.equal((await get(gw.url, '/admin', { cookie: cookie! })).status, 200)
    } finally {
      await gw.close()
    }
  })

  test('a presented but bad credential is not downgraded to anonymous', async () => {
    const gw = await startTestGateway({ auth: { anonymous: { enabled: true }, apikey: { keys: [{ key: KEY, user: 'bot' }] } } })
    try {
      assert.equal((await get(gw.url, '/x', { 'x-api-key': 'not-the-key-0000000' })).status, 401)
    } finally {
      await gw.close()
    }
  })

  test('routes[].methods limits which authenticators apply', async () => {
    const gw = await startTestGateway({
      auth: { apikey: { keys: [{ key: KEY, user: 'bot' }] } },
      routes: [
        { path: '/api', methods: ['apikey'] },
        { path: '/ui', methods: ['session'] },
      ],
    })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal((await get(gw.url, '/api/x', { cookie: cookie! })).status, 401, 'no session on the API route')
      assert.equal((await get(gw.url, '/api/x', { 'x-api-key': KEY })).status, 200)
      assert.equal((await get(gw.url, '/ui/x', { 'x-api-key': KEY })).status, 401, 'no API keys on the UI route')
      assert.equal((await get(gw.url, '/ui/x', { cookie: cookie! })).status, 200)
    } finally {
      await gw.close()
    }
  })
})
