import assert from 'node:assert/strict'
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import { mintToken } from '../../src/auth/jwt-sign.js'
import { createJwtAuthenticator } from '../../src/auth/jwt.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { generatePemPair, KEYGEN_ALGORITHMS } from '../../src/cli/keygen.js'
import { algorithmOf } from '../../src/cli/token.js'
import { parseConfig } from '../../src/config/load.js'

const clock = new ManualClock(Date.UTC(2026, 5, 1))

for (const alg of KEYGEN_ALGORITHMS) {
  test(`keygen --alg ${alg} → token → a gateway configured with the public PEM accepts it (in process)`, async () => {
    const { privateKey, publicKey } = generatePemPair(alg)
    assert.match(privateKey, /^-----BEGIN PRIVATE KEY-----\n/)
    assert.match(publicKey, /^-----BEGIN PUBLIC KEY-----\n/)
    const key = createPrivateKey(privateKey)
    assert.equal(algorithmOf(key), alg)
    const token = await mintToken(key, alg, { sub: 'dave', roles: ['a', 'b'], iss: 'cli', aud: 'app', ttlSeconds: 3600, now: clock.now() })
    const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], auth: { jwt: { public_key: publicKey, issuer: 'cli', audience: 'app' } } }, {})
    const auth = createJwtAuthenticator(config, await createUserDirectory(config), clock)
    const result = await auth.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` }, ip: '' })
    assert.equal(result?.identity.user, 'dave')
    assert.deepEqual(result?.identity.roles, ['a', 'b'])
    assert.equal(result?.identity.notAfter, clock.now() - (clock.now() % 1000) + 3600_000)
  })
}

test('the token algorithm follows the key: ES384 for P-384, and unsupported types are refused', () => {
  assert.equal(algorithmOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey), 'ES384')
  assert.throws(() => algorithmOf(generateKeyPairSync('x25519').privateKey), /unsupported key type x25519/)
})
