import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { AuthRequest, Authenticator } from '../../src/auth/authenticator.js'
import { CredentialCache } from '../../src/auth/credential-cache.js'
import { createExternalBasicAuthenticator } from '../../src/auth/external-basic.js'
import { ManualClock } from '../../src/clock.js'
import { AuthServiceUnavailable, CredentialsRejected } from '../../src/errors.js'

const basic = (user: string, password: string): AuthRequest => ({
  method: 'GET', url: '/', headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }, ip: '',
})

/** ROR's external service: 200 for known credentials, a fixed status for special users, or no answer at all. */
function startAuthService(): Promise<{ server: Server; url: string; calls: IncomingHttpHeaders[] }> {
  const calls: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    calls.push(req.headers)
    const [user, password] = Buffer.from(String(req.headers.authorization ?? '').slice(6), 'base64').toString().split(':')
    if (user === 'slow') return // never answers: the gateway's timeout must fire
    if (user === 'broken') return void res.writeHead(500).end()
    if (user === 'forbidden') return void res.writeHead(403).end()
    res.writeHead(user === 'erin' && password === 'pw-erin' ? 200 : 401).end('body is ignored')
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, calls, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/check` })))
}

async function failure(auth: Authenticator, request: AuthRequest): Promise<Error & { reason?: string; status?: number }> {
  const error = await auth.authenticate(request).then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof Error, 'expected a rejection')
  return error
}

describe('external Basic (ROR External Basic Auth)', () => {
  let service: Awaited<ReturnType<typeof startAuthService>>
  const clock = new ManualClock()
  const make = (overrides: Partial<{ cacheTtlMs: number; timeoutMs: number; url: string; createSession: boolean }> = {}) =>
    createExternalBasicAuthenticator({ url: service.url, cacheTtlMs: 60_000, timeoutMs: 1_000, createSession: false, ...overrides }, clock)

  before(async () => (service = await startAuthService()))
  after(() => {
    service.server.closeAllConnections()
    service.server.close()
  })

  test('200 from the service: the user is who the credentials say, per request; the service got the same header', async () => {
    const result = await make().authenticate(basic('erin', 'pw-erin'))
    assert.equal(result?.identity.user, 'erin')
    assert.equal(result?.identity.provider.type, 'external_basic')
    assert.equal(result?.startSession, false)
    assert.equal(service.calls.at(-1)!.authorization, basic('erin', 'pw-erin').headers.authorization)
  })

  test('401 and 403 from the service are invalid_credentials', async () => {
    for (const [user, password] of [['erin', 'wrong'], ['forbidden', 'x']] as const) {
      const error = await failure(make(), basic(user, password))
      assert.ok(error instanceof CredentialsRejected)
      assert.equal(error.reason, 'invalid_credentials')
    }
  })

  test('a 500 from the service is a 503 external_auth_unavailable, never a pass', async () => {
    const error = await failure(make(), basic('broken', 'x'))
    assert.ok(error instanceof AuthServiceUnavailable)
    assert.equal(error.status, 503)
    assert.equal(error.reason, 'external_auth_unavailable')
  })

  test('a service that does not answer fails after the configured timeout with 503', async () => {
    const started = Date.now()
    const error = await failure(make({ timeoutMs: 300 }), basic('slow', 'x'))
    assert.ok(error instanceof AuthServiceUnavailable)
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`)
  })

  test('a service that is down (connection refused) is 503', async () => {
    const error = await failure(make({ url: 'http://127.0.0.1:1/check' }), basic('erin', 'pw-erin'))
    assert.ok(error instanceof AuthServiceUnavailable)
    assert.equal(error.reason, 'external_auth_unavailable')
  })

  test('a success is cached for cache_ttl: the service is not called again until it expires', async () => {
    const auth = make({ cacheTtlMs: 30_000 })
    const before = service.calls.length
    await auth.authenticate(basic('erin', 'pw-erin'))
    await auth.authenticate(basic('erin', 'pw-erin'))
    assert.equal(service.calls.length - before, 1)
    clock.advance(31_000)
    await auth.authenticate(basic('erin', 'pw-erin'))
    assert.equal(service.calls.length - before, 2)
  })

  test('the cache is per credential: another password for the same user is checked (and refused)', async () => {
    const auth = make()
    await auth.authenticate(basic('erin', 'pw-erin'))
    const error = await failure(auth, basic('erin', 'pw-erin-but-not'))
    assert.ok(error instanceof CredentialsRejected)
  })

  test('failures are not cached; cache_ttl 0 disables the cache', async () => {
    const auth = make({ cacheTtlMs: 0 })
    const before = service.calls.length
    await auth.authenticate(basic('erin', 'pw-erin'))
    await auth.authenticate(basic('erin', 'pw-erin'))
    await failure(auth, basic('erin', 'bad'))
    await failure(auth, basic('erin', 'bad'))
    assert.equal(service.calls.length - before, 4)
  })

  test('no Basic header: null; a user name with control characters is refused before the call', async () => {
    assert.equal(await make().authenticate({ method: 'GET', url: '/', headers: {}, ip: '' }), null)
    const before = service.calls.length
    const error = await failure(make(), basic('evil\r\nX-Forwarded-User: root', 'x'))
    assert.equal(error.reason, 'malformed_credentials')
    assert.equal(service.calls.length, before)
  })
})

describe('the credential cache key', () => {
  test('is an HMAC under a per-process random key: never the credential, never a plain (crackable) hash of it', async () => {
    const credential = Buffer.from('erin:pw-erin').toString('base64')
    const a = new CredentialCache(60_000, () => 0)
    const b = new CredentialCache(60_000, () => 0)
    const key = a.keyOf(credential)
    assert.equal(key, a.keyOf(credential), 'stable within one cache')
    assert.notEqual(key, b.keyOf(credential), 'salted: another cache (process) derives another key')
    assert.ok(!key.includes('pw-erin') && !key.includes(credential))
    const { createHash } = await import('node:crypto')
    for (const input of [credential, 'erin:pw-erin', 'pw-erin']) {
      for (const encoding of ['hex', 'base64url', 'base64'] as const) assert.notEqual(key, createHash('sha256').update(input).digest(encoding))
    }
  })

  test('entries expire at the TTL or the given notAfter, whichever is first', () => {
    let now = 1_000
    const cache = new CredentialCache(60_000, () => now)
    const identity = { user: 'u', roles: [], provider: { type: 't', name: 't' } }
    cache.set('k1', identity)
    cache.set('k2', identity, 11_000)
    now = 10_999
    assert.ok(cache.get('k2'))
    now = 11_000
    assert.equal(cache.get('k2'), undefined)
    assert.ok(cache.get('k1'))
    now = 61_000
    assert.equal(cache.get('k1'), undefined)
  })
})
