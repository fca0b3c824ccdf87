import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Writable } from 'node:stream'
import { inject } from 'light-my-request'
import { SignJWT } from 'jose'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { startEchoUpstream, type EchoRequest } from '../../src/demo/echo-upstream.js'
import { consumedCredentials } from '../../src/pipeline/credentials.js'
import { createForwardAuthHandler } from '../../src/proxy/forward-auth.js'
import { createProxyHandler } from '../../src/proxy/handler.js'
import { createHeaderRewriter } from '../../src/proxy/identity-headers.js'
import { createUpstreamPools } from '../../src/proxy/upstream-pool.js'
import { buildGuard, type Guard } from '../../src/server/guard.js'
import { createSessionStore } from '../../src/session/store/index.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { createMetrics } from '../../src/telemetry/metrics.js'
import { createRequestLog } from '../../src/telemetry/request-log.js'
import { StoreHealth } from '../../src/telemetry/store-health.js'
import { ALICE, BOB, SECRET, testUsers } from '../helpers/gateway.js'

// The pipeline and the two node:http handlers that use it, driven with inject(): no listener,
// no Fastify; the proxy's upstream is a real echo server.
const JWT_SECRET = 'pipeline-test-jwt-secret-0123456789abcdef'

describe('one pipeline for the proxy and forward-auth', () => {
  let config: Config
  let guard: Guard
  let proxy: ReturnType<typeof createProxyHandler>
  let forwardAuth: ReturnType<typeof createForwardAuthHandler>
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>
  let pools: ReturnType<typeof createUpstreamPools>
  const received: EchoRequest[] = []
  const clock = new ManualClock(Date.now())

  before(async () => {
    upstream = await startEchoUpstream({ onRequest: (request) => received.push(request) })
    config = parseConfig(
      {
        upstream: upstream.url,
        secrets: [SECRET],
        users: await testUsers(),
        session: { storage: 'memory', logout: { query_arg: 'sign_out' } },
        auth: { jwt: { secret: JWT_SECRET, issuer: 'tests', sources: ['header', 'query:jwt'] }, apikey: { header: 'X-Api-Key', keys: [{ key: 'pipeline-key-0123456789', user: 'robot', roles: ['bots'] }] } },
        routes: [
          { path: '/public', auth: 'none' },
          { path: '/ops', roles: ['ops'] },
        ],
      },
      {},
    )
    const log = createLogger('warn', new Writable({ write: (_c, _e, done) => done() }))
    const metrics = createMetrics()
    const store = await createSessionStore(config.session, config.secrets, clock)
    guard = buildGuard(config, { store, users: await createUserDirectory(config), clock, log, metrics })
    const requestLog = createRequestLog(log, metrics)
    const storeHealth = new StoreHealth(log)
    pools = createUpstreamPools()
    const consumed = consumedCredentials(guard.authenticators, guard.sessions)
    proxy = createProxyHandler({
      pipeline: guard.pipeline,
      logout: guard.logout,
      consumed,
      rewriter: createHeaderRewriter(config.identity_headers, consumed),
      upstreams: pools,
      identityTokens: null,
      loginPath: '/_gatehouse/login',
      requestLog,
      storeHealth,
      log,
    })
    forwardAuth = createForwardAuthHandler({ pipeline: guard.pipeline, logout: guard.logout, identityHeaders: config.identity_headers, requestLog, storeHealth, log })
  })
  after(async () => {
    await pools.close()
    await upstream.close()
  })

  const sessionOf = async (user: { username: string; roles: string[] }) => {
    const started = await guard.sessions.begin({ user: user.username, roles: user.roles, provider: { type: 'form', name: 'form' } }, {}, undefined)
    return started.setCookie[0]!.split(';')[0]!
  }
  const token = (sub: string) => new SignJWT({ roles: ['ops'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('tests').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))

  test('decide: each verdict from the same request line', async () => {
    const cookie = await sessionOf(ALICE)
    const view = (url: string, headers: Record<string, string> = {}) => ({ method: 'GET', url, headers, ip: '127.0.0.1' })
    assert.equal((await guard.pipeline.decide(view('/public/x'))).verdict.kind, 'pass')
    const denied = (await guard.pipeline.decide(view('/app?api_key=zzz'))).verdict
    assert.equal(denied.kind, 'deny')
    assert.equal(denied.kind === 'deny' && denied.signIn?.rd, '/app?api_key=zzz')
    assert.equal((await guard.pipeline.decide(view('/app', { cookie }))).verdict.kind, 'pass')
    assert.equal((await guard.pipeline.decide(view('/app?sign_out=1', { cookie }))).verdict.kind, 'logout')
    const bad = (await guard.pipeline.decide(view('/public/%2e%2e/ops'))).verdict
    assert.equal(bad.kind === 'deny' && bad.error.reason, 'bad_path')
  })

  test('proxy: a session passes with identity headers; the cookie, API key and forged headers stay behind', async () => {
    const cookie = await sessionOf(ALICE)
    received.length = 0
    const response = await inject(proxy, { method: 'GET', url: '/ops/x?a=1', headers: { cookie: `${cookie}; app=1`, 'x-forwarded-user': 'mallory', 'x-api-key': 'stray' } })
    assert.equal(response.statusCode, 200)
    const seen = received[0]!
    assert.equal(seen.url, '/ops/x?a=1')
    assert.equal(seen.headers['x-forwarded-user'], 'alice')
    assert.equal(seen.headers.cookie, 'app=1')
    assert.equal(seen.headers['x-api-key'], undefined)
  })

  test('proxy: roles refuse with 403; signed-out browsers go to the login page without credentials in rd', async () => {
    const bob = await sessionOf(BOB)
    assert.equal((await inject(proxy, { method: 'GET', url: '/ops/', headers: { cookie: bob } })).statusCode, 403)
    const browser = await inject(proxy, { method: 'GET', url: '/app?x=1&jwt=', headers: { accept: 'text/html' } })
    assert.equal(browser.statusCode, 302)
    assert.equal(browser.headers.location, `/_gatehouse/login?rd=${encodeURIComponent('/app?x=1')}`)
    const api = await inject(proxy, { method: 'GET', url: '/app' })
    assert.equal(api.statusCode, 401)
    assert.equal(api.json().reason, 'no_credentials')
  })

  test('proxy: ?jwt= becomes a session cookie and a redirect to the URL without the token', async () => {
    received.length = 0
    const response = await inject(proxy, { method: 'GET', url: `/app?x=1&jwt=${await token('carol')}` })
    assert.equal(response.statusCode, 302)
    assert.equal(response.headers.location, '/app?x=1')
    const setCookie = [response.headers['set-cookie']].flat().join('\n')
    assert.match(setCookie, /^gatehouse_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict/)
    assert.equal(received.length, 0)
  })

  test('forward-auth applies route rules and roles to the original URL from a local proxy', async () => {
    const bob = await sessionOf(BOB)
    const ok = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { cookie: bob, 'x-original-uri': '/app/page' }, remoteAddress: '127.0.0.1' })
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.headers['x-forwarded-user'], 'bob')
    assert.equal(ok.headers['x-auth-request-user'], 'bob')
    assert.equal(ok.headers['x-auth-request-groups'], 'viewer')
    const ops = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { cookie: bob, 'x-original-uri': '/ops/x' }, remoteAddress: '127.0.0.1' })
    assert.equal(ops.statusCode, 403)
    const open = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { 'x-original-uri': '/public/a' }, remoteAddress: '127.0.0.1' })
    assert.equal(open.statusCode, 200)
    const none = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { 'x-original-uri': '/app' }, remoteAddress: '127.0.0.1' })
    assert.equal(none.statusCode, 401)
    const apiKey = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/forward-auth', headers: { 'x-api-key': 'pipeline-key-0123456789', 'x-forwarded-uri': '/app' }, remoteAddress: '127.0.0.1' })
    assert.equal(apiKey.headers['x-forwarded-user'], 'robot')
  })

  test('forward-auth answers nginx without a body (so nginx keeps the connection), with the reason in a header; Caddy gets the refusal\'s JSON', async () => {
    const bob = await sessionOf(BOB)
    const ok = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { cookie: bob, 'x-original-uri': '/app' }, remoteAddress: '127.0.0.1' })
    assert.equal(ok.statusCode, 200)
    assert.equal(ok.headers['content-length'], '0')
    assert.equal(ok.body, '')
    const refused = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { cookie: bob, 'x-original-uri': '/ops/' }, remoteAddress: '127.0.0.1' })
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.body, '')
    assert.equal(refused.headers['gatehouse-reason'], 'role_not_allowed')
    assert.equal(refused.headers['gatehouse-error'], 'ERR_FORBIDDEN')
    const caddy = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/forward-auth', headers: { cookie: bob, 'x-forwarded-uri': '/ops/' }, remoteAddress: '127.0.0.1' })
    assert.equal(caddy.statusCode, 403)
    assert.equal(caddy.json().reason, 'role_not_allowed')
  })

  test('forward-auth ignores original-request headers from a peer that is not local', async () => {
    const bob = await sessionOf(BOB)
    // From afar the asked-about URL is the endpoint itself (no route rules of /ops apply).
    const remote = await inject(forwardAuth, { method: 'GET', url: '/_gatehouse/auth', headers: { cookie: bob, 'x-original-uri': '/ops/x' }, remoteAddress: '203.0.113.9' })
    assert.equal(remote.statusCode, 200)
  })
})
