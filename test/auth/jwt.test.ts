import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createSign, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose'
import type { AuthRequest, Authenticator } from '../../src/auth/authenticator.js'
import { createJwtAuthenticator } from '../../src/auth/jwt.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid, CredentialsRejected, GatehouseError } from '../../src/errors.js'
import { testKeys } from '../helpers/keys.js'

const SECRET = 'jwt-shared-secret-0123456789abcdef0123'
const ISSUER = 'auth.example.com'
const clock = new ManualClock(Date.UTC(2026, 5, 1))
const now = () => Math.floor(clock.now() / 1000)
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function authenticator(jwt: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Authenticator> {
  const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], auth: { jwt: { issuer: ISSUER, ...jwt } }, ...extra }, {})
  return createJwtAuthenticator(config, await createUserDirectory(config), clock)
}

const bearer = (token: string): AuthRequest => ({ method: 'GET', url: '/x', headers: { authorization: `Bearer ${token}` }, ip: '127.0.0.1' })

async function sign(key: Parameters<SignJWT['sign']>[0], alg: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ roles: ['ops'], ...claims })
    .setProtectedHeader({ alg, ...header })
    .setSubject((claims.sub as string) ?? 'alice')
    .setIssuer((claims.iss as string) ?? ISSUER)
    .setIssuedAt((claims.iat as number) ?? now())
    .setExpirationTime((claims.exp as number) ?? now() + 600)
    .sign(key)
}

async function rejection(auth: Authenticator, request: AuthRequest): Promise<string> {
  try {
    await auth.authenticate(request)
  } catch (error) {
    assert.ok(error instanceof GatehouseError, String(error))
    return error.reason ?? error.code
  }
  assert.fail('expected the token to be rejected')
}

describe('JWT: every algorithm and key format from an independent issuer', () => {
  const keys = testKeys()

  for (const alg of ['HS256', 'HS384', 'HS512']) {
    test(`${alg} with a shared secret`, async () => {
      const auth = await authenticator({ secret: SECRET })
      const result = await auth.authenticate(bearer(await sign(new TextEncoder().encode(SECRET), alg)))
      assert.equal(result?.identity.user, 'alice')
      assert.deepEqual(result?.identity.roles, ['ops'])
      assert.equal(result?.identity.provider.type, 'jwt')
    })
  }

  for (const name of ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const) {
    test(`${name} with a PEM public key, a JWK and a key file`, async () => {
      const pair = keys[name]
      const token = await sign(pair.privateKey, name)
      for (const config of [{ public_key: pair.publicPem }, { public_key: JSON.stringify(await exportJWK(pair.publicKey)) }, { public_key_file: writeKey(pair.publicPem) }]) {
        const result = await (await authenticator(config)).authenticate(bearer(token))
        assert.equal(result?.identity.user, 'alice')
      }
    })
  }

  test('EdDSA with ClusterCockpit\'s raw base64 Ed25519 public key', async () => {
    const pair = keys.EdDSA
    const raw = Buffer.from((await exportJWK(pair.publicKey)).x!, 'base64url').toString('base64')
    const result = await (await authenticator({ public_key: raw })).authenticate(bearer(await sign(pair.privateKey, 'EdDSA')))
    assert.equal(result?.identity.user, 'alice')
  })

  test('RS256 token made by openssl (not jose) is accepted', async () => {
    const pair = keys.RS256
    const keyFile = writeKey(pair.privatePem)
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const signingInput = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'olga', iss: ISSUER, iat: now(), exp: now() + 600, roles: ['a'] })}`
    const signature = execFileSync('openssl', ['dgst', '-sha256', '-sign', keyFile], { input: signingInput }).toString('base64url')
    const result = await (await authenticator({ public_key: pair.publicPem })).authenticate(bearer(`${signingInput}.${signature}`))
    assert.equal(result?.identity.user, 'olga')
    // The same with node's own signer, as a cross-check of the test's hand-built input.
    const nodeSig = createSign('sha256').update(signingInput).sign(pair.privateKey).toString('base64url')
    assert.equal(nodeSig, signature)
  })

  test('ES256 token made by openssl (DER signature converted to JOSE r||s by the test) is accepted', async () => {
    const pair = keys.ES256
    const keyFile = writeKey(pair.privatePem)
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const signingInput = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ sub: 'oscar', iss: ISSUER, iat: now(), exp: now() + 600 })}`
    const der = execFileSync('openssl', ['dgst', '-sha256', '-sign', keyFile], { input: signingInput })
    const token = `${signingInput}.${derToJose(der, 32).toString('base64url')}`
    assert.equal((await (await authenticator({ public_key: pair.publicPem })).authenticate(bearer(token)))?.identity.user, 'oscar')
    const flipped = Buffer.from(token.split('.')[2]!, 'base64url')
    flipped[5]! ^= 1
    assert.equal(await rejection(await authenticator({ public_key: pair.publicPem }), bearer(`${signingInput}.${flipped.toString('base64url')}`)), 'bad_signature')
  })

  describe('JWKS from an HTTP endpoint', () => {
    let url: string
    let server: ReturnType<typeof createServer>
    let fetches = 0
    before(async () => {
      const jwk = { ...(await exportJWK(keys.ES256.publicKey)), kid: 'k1', alg: 'ES256' }
      server = createServer((_req, res) => (fetches++, res.writeHead(200, { 'content-type': 'application/json' }), res.end(JSON.stringify({ keys: [jwk] }))))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
    })
    after(() => server.close())

    test('a token whose kid is in the set verifies; the set is fetched once and cached', async () => {
      const auth = await authenticator({ jwks_url: url })
      for (const sub of ['a1', 'a2', 'a3']) {
        const result = await auth.authenticate(bearer(await sign(keys.ES256.privateKey, 'ES256', { sub }, { kid: 'k1' })))
        assert.equal(result?.identity.user, sub)
      }
      assert.equal(fetches, 1)
    })

    test('an unknown kid is rejected with unknown_kid', async () => {
      const auth = await authenticator({ jwks_url: url })
      assert.equal(await rejection(auth, bearer(await sign(keys.ES256.privateKey, 'ES256', {}, { kid: 'nope' }))), 'unknown_kid')
    })
  })
})

describe('JWT attacks and rejections, each with a stable reason', () => {
  const keys = testKeys()

  test('alg none is never accepted', async () => {
    const unsigned = new UnsecuredJWT({ sub: 'mallory', roles: ['admin'] }).setIssuer(ISSUER).setExpirationTime(now() + 60).encode()
    for (const config of [{ secret: SECRET }, { public_key: keys.RS256.publicPem }]) {
      assert.equal(await rejection(await authenticator(config), bearer(unsigned)), 'alg_not_allowed')
    }
  })

  test('HS256 signed with the RSA public key as secret is refused by an RS256 gateway (no key confusion)', async () => {
    const forged = await sign(new TextEncoder().encode(keys.RS256.publicPem), 'HS256', { sub: 'mallory' })
    assert.equal(await rejection(await authenticator({ public_key: keys.RS256.publicPem }), bearer(forged)), 'alg_not_allowed')
  })

  test('configuring HS algorithms with a public key is a config error', async () => {
    await assert.rejects(authenticator({ public_key: keys.RS256.publicPem, algorithms: ['HS256'] }), ConfigInvalid)
    await assert.rejects(authenticator({ public_key: keys.RS256.publicPem, algorithms: ['ES256'] }), ConfigInvalid)
  })

  test('a private key in public_key is refused at start', async () => {
    await assert.rejects(authenticator({ public_key: keys.EdDSA.privatePem }), (error: unknown) => error instanceof ConfigInvalid && /private key/.test(error.problems[0]!))
  })

  const cases: [string, string, () => Promise<string>, Record<string, unknown>?][] = [
    ['untrusted_issuer', 'wrong issuer', () => sign(keys.EdDSA.privateKey, 'EdDSA', { iss: 'evil.example.com' })],
    ['token_expired', 'expired', () => sign(keys.EdDSA.privateKey, 'EdDSA', { iat: now() - 7200, exp: now() - 3600 })],
    ['token_not_yet_valid', 'not yet valid', async () => new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('a').setIssuer(ISSUER).setNotBefore(now() + 3600).sign(keys.EdDSA.privateKey)],
    ['bad_signature', 'tampered payload', async () => {
      const [h, , s] = (await sign(keys.EdDSA.privateKey, 'EdDSA')).split('.')
      const payload = Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, exp: now() + 60, roles: ['admin'] })).toString('base64url')
      return `${h}.${payload}.${s}`
    }],
    ['bad_signature', 'signed by another key', () => sign(testKeys().ES256.privateKey, 'ES256').then(() => sign(keys.EdDSA.privateKey, 'EdDSA')).then(async () => {
      const { generateKeyPairSync } = await import('node:crypto')
      return sign(generateKeyPairSync('ed25519').privateKey, 'EdDSA')
    })],
    ['embedded_key_not_allowed', 'a header naming its own jwk', async () => sign(keys.EdDSA.privateKey, 'EdDSA', {}, { jwk: await exportJWK(keys.EdDSA.publicKey) })],
    ['embedded_key_not_allowed', 'a header naming a jku', () => sign(keys.EdDSA.privateKey, 'EdDSA', {}, { jku: 'https://evil.example/jwks' })],
    ['embedded_key_not_allowed', 'a header naming an x5u', () => sign(keys.EdDSA.privateKey, 'EdDSA', {}, { x5u: 'https://evil.example/cert' })],
    ['embedded_key_not_allowed', 'a header carrying an x5c chain', () => sign(keys.EdDSA.privateKey, 'EdDSA', {}, { x5c: ['MIIB'] })],
    ['token_too_large', 'a token over 16 KB (not even parsed)', async () => 'a'.repeat(17 * 1024)],
    ['malformed_token', 'garbage', async () => 'not.a.jwt'],
    ['missing_user_claim', 'no subject', async () => new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(ISSUER).setExpirationTime(now() + 60).sign(keys.EdDSA.privateKey)],
    ['missing_user_claim', 'a subject with a newline (header injection)', () => sign(keys.EdDSA.privateKey, 'EdDSA', { sub: 'alice\r\nX-Forwarded-User: root' })],
    ['bad_audience', 'wrong audience', () => sign(keys.EdDSA.privateKey, 'EdDSA', { aud: 'other' }), { audience: 'kibana' }],
    ['token_too_old', 'older than max_age', () => sign(keys.EdDSA.privateKey, 'EdDSA', { iat: now() - 7200, exp: now() + 600 }), { max_age: '1h' }],
  ]
  for (const [reason, title, make, extra] of cases) {
    test(`${title} → ${reason}`, async () => {
      const auth = await authenticator({ public_key: keys.EdDSA.publicPem, ...extra })
      const token = await make()
      assert.equal(await rejection(auth, bearer(token)), reason)
    })
  }

  test('clock_tolerance allows a little skew', async () => {
    const token = await sign(keys.EdDSA.privateKey, 'EdDSA', { iat: now() - 100, exp: now() - 10 })
    assert.ok(await (await authenticator({ public_key: keys.EdDSA.publicPem, clock_tolerance: '30s' })).authenticate(bearer(token)))
    assert.equal(await rejection(await authenticator({ public_key: keys.EdDSA.publicPem, clock_tolerance: 0 }), bearer(token)), 'token_expired')
  })
})

describe('JWT claims and users', () => {
  const keys = testKeys()

  test('user_claim and dotted roles_claim (Keycloak realm_access.roles)', async () => {
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem, user_claim: 'preferred_username', roles_claim: 'realm_access.roles' })
    const token = await sign(keys.EdDSA.privateKey, 'EdDSA', { preferred_username: 'kc-user', realm_access: { roles: ['r1', 'r2', 'bad,role'] } })
    const result = await auth.authenticate(bearer(token))
    assert.equal(result?.identity.user, 'kc-user')
    assert.deepEqual(result?.identity.roles, ['r1', 'r2'], 'roles with commas are dropped (they would forge groups)')
  })

  test('validate_against_users: unknown users rejected, roles come from the directory', async () => {
    const users = [{ username: 'alice', roles: ['from-db'] }]
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem, validate_against_users: true }, { users })
    const ok = await auth.authenticate(bearer(await sign(keys.EdDSA.privateKey, 'EdDSA', { roles: ['admin'] })))
    assert.deepEqual(ok?.identity.roles, ['from-db'])
    assert.equal(await rejection(auth, bearer(await sign(keys.EdDSA.privateKey, 'EdDSA', { sub: 'ghost' }))), 'unknown_user')
  })

  test('the identity carries the token exp as notAfter (sessions never outlive it), unless outlive_token', async () => {
    const exp = now() + 300
    const token = await sign(keys.EdDSA.privateKey, 'EdDSA', { exp, jti: 'j-1' })
    const capped = await (await authenticator({ public_key: keys.EdDSA.publicPem })).authenticate(bearer(token))
    assert.equal(capped?.identity.notAfter, exp * 1000)
    assert.equal(capped?.identity.data?.jti, 'j-1')
    const free = await (await authenticator({ public_key: keys.EdDSA.publicPem }, { session: { outlive_token: true } })).authenticate(bearer(token))
    assert.equal(free?.identity.notAfter, undefined)
  })

  test('sources: a named cookie and a query parameter; no token → null (try the next authenticator)', async () => {
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem, sources: ['cookie:access_cc', 'query:jwt'] })
    const token = await sign(keys.EdDSA.privateKey, 'EdDSA')
    assert.equal((await auth.authenticate({ method: 'GET', url: '/', headers: { cookie: `a=1; access_cc=${token}` }, ip: '' }))?.identity.user, 'alice')
    const viaQuery = await auth.authenticate({ method: 'GET', url: `/app?x=1&jwt=${token}&y=2`, headers: {}, ip: '' })
    assert.equal(viaQuery?.startSession, true)
    assert.equal(viaQuery?.redirectTo, '/app?x=1&y=2')
    assert.equal(await auth.authenticate(bearer(token)), null, 'header is not a configured source here')
    assert.equal(await auth.authenticate({ method: 'GET', url: '/', headers: {}, ip: '' }), null)
  })

  test('an email claim with control characters is dropped (it would become a header)', async () => {
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem })
    const good = await auth.authenticate(bearer(await sign(keys.EdDSA.privateKey, 'EdDSA', { email: 'a@example.com' })))
    assert.equal(good?.identity.email, 'a@example.com')
    const bad = await auth.authenticate(bearer(await sign(keys.EdDSA.privateKey, 'EdDSA', { sub: 'al', email: 'a@x\r\nX-Forwarded-User: root' })))
    assert.equal(bad?.identity.email, undefined)
  })

  test('without exp, max_age bounds the session: notAfter = iat + max_age', async () => {
    const iat = now() - 60
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('a').setIssuer(ISSUER).setIssuedAt(iat).sign(keys.EdDSA.privateKey)
    const result = await (await authenticator({ public_key: keys.EdDSA.publicPem, max_age: '1h' })).authenticate(bearer(token))
    assert.equal(result?.identity.notAfter, (iat + 3600) * 1000)
  })

  test('a verified token is cached, but never past its exp', async () => {
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem, clock_tolerance: 0 })
    const token = await sign(keys.EdDSA.privateKey, 'EdDSA', { exp: now() + 20 })
    assert.ok(await auth.authenticate(bearer(token)))
    assert.ok(await auth.authenticate(bearer(token)))
    clock.advance(21_000)
    assert.equal(await rejection(auth, bearer(token)), 'token_expired')
  })

  test('the first configured source carrying a token decides; a bad header token is not retried from the cookie', async () => {
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem, sources: ['header', 'cookie:cc'] })
    const good = await sign(keys.EdDSA.privateKey, 'EdDSA')
    const request: AuthRequest = { method: 'GET', url: '/', headers: { authorization: 'Bearer garbage', cookie: `cc=${good}` }, ip: '' }
    assert.equal(await rejection(auth, request), 'malformed_token')
  })

  test('rejections never carry the token', async () => {
    const auth = await authenticator({ public_key: keys.EdDSA.publicPem })
    const token = await sign(keys.EdDSA.privateKey, 'EdDSA', { iss: 'evil' })
    try {
      await auth.authenticate(bearer(token))
      assert.fail('should reject')
    } catch (error) {
      assert.ok(error instanceof CredentialsRejected)
      assert.ok(!JSON.stringify({ ...error, message: error.message }).includes(token.slice(-20)))
    }
  })
})

function writeKey(pem: string): string {
  const file = join(dir, `${randomUUID()}.pem`)
  writeFileSync(file, pem)
  return file
}

/** openssl writes ECDSA signatures as DER SEQUENCE { r INTEGER, s INTEGER }; JWS wants r||s, each `size` bytes. */
function derToJose(der: Buffer, size: number): Buffer {
  let offset = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2
  const integer = () => {
    assert.equal(der[offset], 0x02)
    const length = der[offset + 1]!
    const value = der.subarray(offset + 2, offset + 2 + length)
    offset += 2 + length
    const trimmed = value.subarray(Math.max(0, value.length - size))
    return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed])
  }
  return Buffer.concat([integer(), integer()])
}
