import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose'
import { get, sessionCookie, startTestGateway } from '../helpers/gateway.js'
import { runCli } from '../helpers/cli.js'
import { testKeys } from '../helpers/keys.js'

const ISSUER = 'auth.example.com'
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-authjwt-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function token(nowMs: number, claims: Record<string, unknown> = {}, ttlSeconds = 600): Promise<string> {
  const now = Math.floor(nowMs / 1000)
  return new SignJWT({ roles: ['viewer'], ...claims }).setProtectedHeader({ alg: 'EdDSA' }).setSubject((claims.sub as string) ?? 'carol').setIssuer((claims.iss as string) ?? ISSUER).setIssuedAt(now).setExpirationTime(now + ttlSeconds).sign(testKeys().EdDSA.privateKey)
}

describe('JWT through the gateway', () => {
  test('query parameter flow: verify, start a session, 302 without the token; the upstream never sees it', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER, sources: ['query:jwt'] } } })
    try {
      const jwt = await token(gw.clock.now())
      const first = await get(gw.url, `/app/dashboards?x=1&jwt=${jwt}`, { accept: 'text/html' })
      assert.equal(first.status, 302)
      assert.equal(first.headers.get('location'), '/app/dashboards?x=1')
      const cookie = sessionCookie(first)
      assert.ok(cookie)
      assert.equal(gw.received.length, 0, 'the request carrying the token was not proxied')

      const next = await get(gw.url, '/app/dashboards?x=1', { cookie: cookie!, accept: 'text/html' })
      assert.equal(next.status, 200)
      const seen = gw.received.at(-1)!
      assert.equal(seen.headers['x-forwarded-user'], 'carol')
      assert.equal(seen.headers['x-forwarded-groups'], 'viewer')
      assert.ok(!JSON.stringify(gw.received).includes(jwt.split('.')[2]!), 'the token never reached the upstream')
      assert.ok(!gw.logs.join('').includes(jwt.split('.')[2]!), 'nor the logs')

      // A session holder who adds the parameter anyway: the parameter is stripped before proxying.
      await get(gw.url, `/app?jwt=${jwt}&keep=1`, { cookie: cookie! })
      assert.equal(gw.received.at(-1)!.url, '/app?keep=1')
    } finally {
      await gw.close()
    }
  })

  test('a session started from a token never outlives its exp', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER, sources: ['query:jwt'] } } })
    try {
      const first = await get(gw.url, `/?jwt=${await token(gw.clock.now(), {}, 300)}`)
      const cookie = sessionCookie(first)!
      gw.clock.advance(4 * 60_000)
      assert.equal((await get(gw.url, '/x', { cookie })).status, 200)
      gw.clock.advance(2 * 60_000)
      assert.equal((await get(gw.url, '/x', { cookie })).status, 401)
    } finally {
      await gw.close()
    }
  })

  test('bearer header: 200 per request without a session; a bad token is 401 with its reason, and the log has the reason but not the token', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER } } })
    try {
      const good = await get(gw.url, '/api', { authorization: `Bearer ${await token(gw.clock.now())}` })
      assert.equal(good.status, 200)
      assert.equal(sessionCookie(good), undefined, 'API callers get no session by default')
      const badToken = await token(gw.clock.now(), { iss: 'evil' })
      const bad = await get(gw.url, '/api', { authorization: `Bearer ${badToken}` })
      assert.equal(bad.status, 401)
      assert.deepEqual(await bad.json(), { error: 'unauthorized', code: 'ERR_CREDENTIALS_REJECTED', reason: 'untrusted_issuer', message: 'token rejected' })
      const logs = gw.logs.join('')
      assert.match(logs, /"reason":"untrusted_issuer"/)
      assert.ok(!logs.includes(badToken.split('.')[2]!))
    } finally {
      await gw.close()
    }
  })

  test('ClusterCockpit-style cookie token from an external service: accepted, and the cookie is not forwarded', async () => {
    const gw = await startTestGateway({ auth: { jwt: { public_key: testKeys().EdDSA.publicPem, issuer: ISSUER, sources: ['cookie:access_cc'] } } })
    try {
      const response = await get(gw.url, '/jobs', { cookie: `theme=dark; access_cc=${await token(gw.clock.now())}` })
      assert.equal(response.status, 200)
      assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'carol')
      assert.equal(gw.received.at(-1)!.headers.cookie, 'theme=dark')
    } finally {
      await gw.close()
    }
  })

  test('identity_headers.jwt: the upstream gets a short-lived EdDSA token verifiable with the gateway JWKS; the client Authorization is replaced', async () => {
    const gw = await startTestGateway({ identity_headers: { jwt: { ttl: '60s', audience: 'kibana' } } })
    try {
      const { login, ALICE } = await import('../helpers/gateway.js')
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      await get(gw.url, '/x', { cookie: cookie!, authorization: 'Bearer forged' })
      const header = gw.received.at(-1)!.headers.authorization as string
      assert.match(header, /^Bearer ey/)
      const jwks = await (await get(gw.url, '/_gatehouse/jwks.json')).json()
      const { payload } = await jwtVerify(header.slice(7), createLocalJWKSet(jwks as never), { issuer: 'gatehouse', audience: 'kibana', currentDate: new Date(gw.clock.now()) })
      assert.equal(payload.sub, 'alice')
      assert.deepEqual(payload.roles, ['admin', 'ops'])
      assert.ok(payload.exp! - payload.iat! <= 60)
    } finally {
      await gw.close()
    }
  })

  test('gatehouse keygen → gatehouse token → the gateway configured with the public key accepts it', async () => {
    for (const alg of ['EdDSA', 'ES256', 'RS256']) {
      const pem = (await runCli(['keygen', '--alg', alg])).stdout
      const [privatePem, publicPem] = pem.split(/(?=-----BEGIN PUBLIC KEY-----)/)
      const keyFile = join(dir, `${alg}.pem`)
      writeFileSync(keyFile, privatePem!)
      const minted = await runCli(['token', '--key', keyFile, '--sub', 'dave', '--roles', 'a,b', '--iss', ISSUER, '--aud', 'app', '--ttl', '1h'])
      assert.equal(minted.code, 0, minted.stderr)
      const gw = await startTestGateway({ auth: { jwt: { public_key: publicPem, issuer: ISSUER, audience: 'app' } } }, { clock: new (await import('../../src/clock.js')).ManualClock(Date.now()) })
      try {
        const response = await get(gw.url, '/x', { authorization: `Bearer ${minted.stdout.trim()}` })
        assert.equal(response.status, 200, alg)
        assert.equal(gw.received.at(-1)!.headers['x-forwarded-groups'], 'a,b')
      } finally {
        await gw.close()
      }
    }
  })
})
