import assert from 'node:assert/strict'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, beforeEach, describe, test } from 'node:test'
import { exportJWK, SignJWT } from 'jose'
import type { AuthRequest, Authenticator } from '../../src/auth/authenticator.js'
import { createJwtAuthenticator } from '../../src/auth/jwt.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { AuthServiceUnavailable, CredentialsRejected } from '../../src/errors.js'

const ISSUER = 'https://idp.example.com'
const clock = new ManualClock(Date.now())
const k1 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const k3 = generateKeyPairSync('ed25519')

const bearer = (token: string): AuthRequest => ({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` }, ip: '' })

function sign(key: KeyObject, alg: string, kid: string | undefined, sub = 'alice'): Promise<string> {
  const now = Math.floor(clock.now() / 1000)
  return new SignJWT({ roles: ['r'] }).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).setSubject(sub).setIssuer(ISSUER).setIssuedAt(now).setExpirationTime(now + 600).sign(key)
}

async function failure(auth: Authenticator, request: AuthRequest): Promise<Error & { reason?: string }> {
  const error = await auth.authenticate(request).then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof Error, 'expected a rejection')
  return error
}

describe('JWT with a JWKS URL (jose createRemoteJWKSet)', () => {
  let server: Server
  let url: string
  let fetches = 0
  let keys: object[] = []
  let status = 200
  let body: string | undefined

  before(async () => {
    server = createServer((_req, res) => {
      fetches++
      res.writeHead(status, { 'content-type': 'application/json' }).end(body ?? JSON.stringify({ keys }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
  })
  after(() => server.close())
  beforeEach(async () => {
    fetches = 0
    status = 200
    body = undefined
    keys = [{ ...(await exportJWK(k1.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }]
  })

  async function make(cooldownMs: number, jwksUrl = url): Promise<Authenticator> {
    const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], auth: { jwt: { jwks_url: jwksUrl, issuer: ISSUER } } }, {})
    return createJwtAuthenticator(config, await createUserDirectory(config), clock, { jwksCooldownMs: cooldownMs })
  }

  test('a rotated-in key is picked up: an unknown kid refetches the set once the cooldown has passed', async () => {
    const auth = await make(0)
    assert.equal((await auth.authenticate(bearer(await sign(k1.privateKey, 'ES256', 'k1'))))?.identity.user, 'alice')
    keys = [...keys, { ...(await exportJWK(k3.publicKey)), kid: 'k3', alg: 'EdDSA' }]
    assert.equal((await auth.authenticate(bearer(await sign(k3.privateKey, 'EdDSA', 'k3', 'bob'))))?.identity.user, 'bob')
    assert.equal(fetches, 2)
  })

  test('within the cooldown an unknown kid is refused without fetching again (no refetch storm)', async () => {
    const auth = await make(60_000)
    await auth.authenticate(bearer(await sign(k1.privateKey, 'ES256', 'k1')))
    for (let i = 0; i < 5; i++) {
      const error = await failure(auth, bearer(await sign(k2.privateKey, 'ES256', `nope-${i}`)))
      assert.ok(error instanceof CredentialsRejected)
      assert.equal(error.reason, 'unknown_kid')
    }
    assert.equal(fetches, 1)
  })

  test('a known kid signed by the wrong key is bad_signature', async () => {
    const auth = await make(60_000)
    assert.equal((await failure(auth, bearer(await sign(k2.privateKey, 'ES256', 'k1')))).reason, 'bad_signature')
  })

  test('without a kid: one candidate key is used; several are ambiguous → missing_kid', async () => {
    assert.equal((await (await make(60_000)).authenticate(bearer(await sign(k1.privateKey, 'ES256', undefined))))?.identity.user, 'alice')
    keys = [...keys, { ...(await exportJWK(k2.publicKey)), kid: 'k2', alg: 'ES256' }]
    assert.equal((await failure(await make(60_000), bearer(await sign(k2.privateKey, 'ES256', undefined)))).reason, 'missing_kid')
  })

  test('HS256 is never accepted from a JWKS configuration, even if the set held an oct key', async () => {
    keys = [{ kty: 'oct', k: Buffer.from('x'.repeat(32)).toString('base64url'), kid: 'h' }]
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'h' }).setSubject('mallory').setIssuer(ISSUER).sign(Buffer.from('x'.repeat(32)))
    assert.equal((await failure(await make(0), bearer(forged))).reason, 'alg_not_allowed')
    assert.equal(fetches, 0, 'refused before any key lookup')
  })

  for (const [title, setup] of [
    ['the JWKS endpoint answers 500', () => void (status = 500)],
    ['the JWKS endpoint answers something that is not JSON', () => void (body = '<html>')],
    ['the JWKS endpoint answers JSON that is not a key set', () => void (body = '{"hello":1}')],
  ] as const) {
    test(`${title}: 503 jwks_unavailable, not a 401`, async () => {
      setup()
      const error = await failure(await make(0), bearer(await sign(k1.privateKey, 'ES256', 'k1')))
      assert.ok(error instanceof AuthServiceUnavailable, String(error))
      assert.equal(error.reason, 'jwks_unavailable')
    })
  }

  test('an unreachable JWKS URL is 503 jwks_unavailable', async () => {
    const error = await failure(await make(0, 'http://127.0.0.1:1/jwks.json'), bearer(await sign(k1.privateKey, 'ES256', 'k1')))
    assert.ok(error instanceof AuthServiceUnavailable)
    assert.equal(error.reason, 'jwks_unavailable')
  })
})
