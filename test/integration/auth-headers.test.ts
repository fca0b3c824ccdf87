import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { ALICE, get, login, sessionCookie, startTestGateway } from '../helpers/gateway.js'
import { testKeys } from '../helpers/keys.js'

const ISSUER = 'auth.example.com'
const KEY = 'open_sesame-0123456789'
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

function token(nowMs: number, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(nowMs / 1000)
  return new SignJWT({ sub: 'carol', roles: ['viewer'], iss: ISSUER, iat: now, exp: now + 600, ...claims }).setProtectedHeader({ alg: 'EdDSA' }).sign(testKeys().EdDSA.privateKey)
}

describe('credentials the gateway consumed never reach the upstream', () => {
  test('a Basic password and a bearer JWT are removed; an Authorization the gateway does not use passes with a session', async () => {
    const gw = await startTestGateway({ auth: { basic: { enabled: true }, jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER } } })
    try {
      assert.equal((await get(gw.url, '/x', { authorization: basic(ALICE.username, ALICE.password) })).status, 200)
      assert.equal(gw.received.at(-1)!.headers.authorization, undefined)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'alice')
      assert.equal((await get(gw.url, '/x', { authorization: `Bearer ${await token(gw.clock.now())}` })).status, 200)
      assert.equal(gw.received.at(-1)!.headers.authorization, undefined)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'carol')
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      await get(gw.url, '/x', { cookie: cookie!, authorization: 'Token app-level-credential' })
      assert.equal(gw.received.at(-1)!.headers.authorization, 'Token app-level-credential')
    } finally {
      await gw.close()
    }
  })

  test('a browser sent to the login page does not carry an unconsumed token in rd', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER, sources: ['query:jwt'] } }, routes: [{ path: '/ui', methods: ['session'] }] })
    try {
      const response = await get(gw.url, `/ui/page?a=1&jwt=${await token(gw.clock.now())}`, { accept: 'text/html' })
      assert.equal(response.status, 302)
      assert.equal(response.headers.get('location'), `/_gatehouse/login?rd=${encodeURIComponent('/ui/page?a=1')}`)
    } finally {
      await gw.close()
    }
  })
})

describe('a session means no token verification', () => {
  test('with create_session, a cookie token starts a session; afterwards the session wins and the token is not looked at again', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER, sources: ['cookie:access_cc'], create_session: true } } })
    try {
      const first = await get(gw.url, '/jobs', { cookie: `access_cc=${await token(gw.clock.now())}` })
      assert.equal(first.status, 200)
      const session = sessionCookie(first)
      assert.ok(session)
      const logsBefore = gw.logs.length
      const next = await get(gw.url, '/jobs', { cookie: `${session}; access_cc=not-even-a-token` })
      assert.equal(next.status, 200, 'the garbage token was never parsed')
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'carol')
      assert.equal(gw.received.at(-1)!.headers.cookie, undefined, 'neither cookie reaches the upstream')
      assert.ok(!gw.logs.slice(logsBefore).join('').includes('auth_rejected'))
    } finally {
      await gw.close()
    }
  })
})

describe('API key with create_session (Kong key-auth + session)', () => {
  test('?apikey= authenticates, sets the session cookie, and the key is stripped upstream; the cookie then works alone', async () => {
    const gw = await startTestGateway({ auth: { apikey: { header: 'apikey', query: 'apikey', keys: [{ key: KEY, user: 'fiona' }], create_session: true } } })
    try {
      const first = await get(gw.url, `/sessions-test?apikey=${KEY}&x=%2C`)
      assert.equal(first.status, 200)
      assert.equal(gw.received.at(-1)!.url, '/sessions-test?x=%2C', 'the other parameters keep their bytes')
      const cookie = sessionCookie(first)
      assert.ok(cookie, 'a session was started')
      assert.equal((await get(gw.url, '/sessions-test', { cookie: cookie! })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'fiona')
    } finally {
      await gw.close()
    }
  })
})

describe('per-route rules with token roles and anonymous termination', () => {
  test('routes[].roles is any-of over the token roles: 403 without, 200 with', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER } }, routes: [{ path: '/admin', roles: ['admin', 'root'] }] })
    try {
      const viewer = await get(gw.url, '/admin/x', { authorization: `Bearer ${await token(gw.clock.now())}` })
      assert.equal(viewer.status, 403)
      assert.equal(((await viewer.json()) as { reason: string }).reason, 'role_not_allowed')
      assert.equal((await get(gw.url, '/admin/x', { authorization: `Bearer ${await token(gw.clock.now(), { roles: ['viewer', 'root'] })}` })).status, 200)
      assert.equal((await get(gw.url, '/elsewhere', { authorization: `Bearer ${await token(gw.clock.now())}` })).status, 200)
    } finally {
      await gw.close()
    }
  })

  test('deny_anonymous answers with the configured status and message; real credentials still pass there', async () => {
    const gw = await startTestGateway({
      auth: { anonymous: { enabled: true, user: 'anonymous_users' }, apikey: { keys: [{ key: KEY, user: 'fiona' }] } },
      // `/open` is `auth: optional`: the anonymous identity passes only there (contract "Anonymous").
      routes: [{ path: '/members', deny_anonymous: { status: 401, message: 'So long and thanks for all the fish!' } }, { path: '/open', auth: 'optional' }],
    })
    try {
      const denied = await get(gw.url, '/members/area')
      assert.equal(denied.status, 401)
      const body = (await denied.json()) as { code: string; message: string }
      assert.equal(body.code, 'ERR_ANONYMOUS_DENIED')
      assert.equal(body.message, 'So long and thanks for all the fish!')
      assert.equal(gw.received.length, 0)
      assert.equal((await get(gw.url, '/members/area', { 'x-api-key': KEY })).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'fiona')
      assert.equal((await get(gw.url, '/open')).status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'anonymous_users')
    } finally {
      await gw.close()
    }
  })

  test('routes[].methods: a JWT-only route ignores API keys and Basic', async () => {
    const gw = await startTestGateway({
      auth: { basic: { enabled: true }, apikey: { keys: [{ key: KEY, user: 'fiona' }] }, jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER } },
      routes: [{ path: '/jwt-only', methods: ['jwt'] }],
    })
    try {
      assert.equal((await get(gw.url, '/jwt-only', { 'x-api-key': KEY })).status, 401)
      assert.equal((await get(gw.url, '/jwt-only', { authorization: basic(ALICE.username, ALICE.password) })).status, 401)
      assert.equal((await get(gw.url, '/jwt-only', { authorization: `Bearer ${await token(gw.clock.now())}` })).status, 200)
      assert.equal((await get(gw.url, '/other', { 'x-api-key': KEY })).status, 200)
    } finally {
      await gw.close()
    }
  })
})
