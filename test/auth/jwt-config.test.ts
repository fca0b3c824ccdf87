import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { createJwtAuthenticator } from '../../src/auth/jwt.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'

const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }
const SECRET = 'x'.repeat(32)
const ed = generateKeyPairSync('ed25519')
const edPem = ed.publicKey.export({ type: 'spki', format: 'pem' }) as string
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwtcfg-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function problems(fn: () => unknown): string[] {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigInvalid, String(error))
    return [...error.problems]
  }
  assert.fail('expected ConfigInvalid')
}
const schemaProblems = (jwt: Record<string, unknown>) => problems(() => parseConfig({ ...base, auth: { jwt } }, {}))
async function startupProblems(jwt: Record<string, unknown>): Promise<string[]> {
  const config = parseConfig({ ...base, auth: { jwt } }, {})
  const users = await createUserDirectory(config)
  return problems(() => createJwtAuthenticator(config, users, new ManualClock()))
}

describe('auth.jwt in the schema: every problem with its key path', () => {
  test('exactly one key source', () => {
    assert.deepEqual(schemaProblems({}), ['auth.jwt: set exactly one of secret, public_key, public_key_file, jwks_url'])
    assert.deepEqual(schemaProblems({ secret: SECRET, public_key: edPem }), ['auth.jwt: set exactly one of secret, public_key, public_key_file, jwks_url'])
  })

  test('"none" is not an algorithm one can allow', () => {
    const [line] = schemaProblems({ secret: SECRET, algorithms: ['none'] })
    assert.match(line!, /^auth\.jwt\.algorithms\[0\]: not an allowed algorithm .*"none" is never accepted/)
  })

  test('HS algorithms only with a secret; a secret only with HS algorithms', () => {
    assert.deepEqual(schemaProblems({ public_key: edPem, algorithms: ['HS256'] }), ['auth.jwt.algorithms: HS algorithms need `secret`; a public key must never verify an HMAC token'])
    assert.deepEqual(schemaProblems({ jwks_url: 'https://idp.example.com/jwks', algorithms: ['RS256', 'HS512'] }), ['auth.jwt.algorithms: HS algorithms need `secret`; a public key must never verify an HMAC token'])
    assert.deepEqual(schemaProblems({ secret: SECRET, algorithms: ['HS256', 'RS256'] }), ['auth.jwt.algorithms: only HS256/HS384/HS512 can be used with a shared secret'])
  })

  test('short secrets, bad sources, duplicate sources, bad JWKS URL', () => {
    assert.deepEqual(schemaProblems({ secret: 'short' }), ['auth.jwt.secret: must be at least 32 bytes long'])
    assert.deepEqual(schemaProblems({ secret: SECRET, sources: ['body:token'] }), ['auth.jwt.sources[0]: expected "header", "cookie:<name>" or "query:<param>"'])
    assert.deepEqual(schemaProblems({ secret: SECRET, sources: ['header', 'header'] }), ['auth.jwt.sources: "header" is listed twice'])
    assert.deepEqual(schemaProblems({ jwks_url: 'file:///etc/passwd' }), ['auth.jwt.jwks_url: expected an http:// or https:// URL'])
  })

  test('defaults: Bearer header, sub, roles, 30s tolerance, per-request', () => {
    const jwt = parseConfig({ ...base, auth: { jwt: { secret: SECRET } } }, {}).auth.jwt!
    assert.deepEqual(jwt.sources, ['header'])
    assert.equal(jwt.user_claim, 'sub')
    assert.equal(jwt.roles_claim, 'roles')
    assert.equal(jwt.clock_tolerance, 30_000)
    assert.equal(jwt.create_session, false)
    assert.equal(jwt.validate_against_users, false)
  })
})

describe('auth.jwt keys read at startup (no I/O in the schema)', () => {
  test('an unreadable public_key_file names the key path', async () => {
    const [line] = await startupProblems({ public_key_file: join(dir, 'missing.pem') })
    assert.match(line!, /^auth\.jwt\.public_key_file: cannot read .*missing\.pem: ENOENT$/)
  })

  test('a file that is not a key names the key path', async () => {
    const file = join(dir, 'garbage.pem')
    writeFileSync(file, 'hello')
    assert.deepEqual(await startupProblems({ public_key_file: file }), ['auth.jwt.public_key_file: expected a PEM public key, a JWK, or a base64 Ed25519 public key (32 bytes)'])
  })

  test('a private key (PEM or JWK with d) is refused: the gateway holds only the public half', async () => {
    const privatePem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    assert.deepEqual(await startupProblems({ public_key: privatePem }), ['auth.jwt.public_key: this is a private key; configure the public key only'])
    const jwk = JSON.stringify(ed.privateKey.export({ format: 'jwk' }))
    assert.deepEqual(await startupProblems({ public_key: jwk }), ['auth.jwt.public_key: this JWK holds a private key; configure the public key only'])
  })

  test('algorithms that the key cannot verify are refused', async () => {
    const [line] = await startupProblems({ public_key: edPem, algorithms: ['ES256'] })
    assert.equal(line, 'auth.jwt.algorithms: ES256 cannot be verified with the configured key (it supports EdDSA, Ed25519)')
  })

  test('a raw base64 key that is not 32 bytes is refused', async () => {
    assert.deepEqual(await startupProblems({ public_key: Buffer.alloc(31).toString('base64') }), ['auth.jwt.public_key: expected a PEM public key, a JWK, or a base64 Ed25519 public key (32 bytes)'])
  })
})
