import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, test } from 'node:test'
import { createApiKeyAuthenticator, sha256 } from '../../src/auth/api-key.js'
import type { AuthRequest, Authenticator } from '../../src/auth/authenticator.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid, CredentialsRejected } from '../../src/errors.js'

const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }
const PLAIN = 'open-sesame-0123456789'
const HASHED_PLAIN = 'only-its-digest-is-configured'

function make(apikey: Record<string, unknown>): Authenticator {
  return createApiKeyAuthenticator(parseConfig({ ...base, auth: { apikey } }, {}))
}
const request = (url: string, headers: Record<string, string> = {}): AuthRequest => ({ method: 'GET', url, headers, ip: '' })
const keys = [
  { key: PLAIN, user: 'fiona', roles: ['ci'] },
  { key_sha256: createHash('sha256').update(HASHED_PLAIN).digest('hex').toUpperCase(), user: 'other' },
]

async function reasonOf(auth: Authenticator, req: AuthRequest): Promise<string | undefined> {
  const error = await auth.authenticate(req).then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof CredentialsRejected, `expected CredentialsRejected, got ${String(error)}`)
  return error.reason
}

describe('API keys (Kong key-auth)', () => {
  test('a key in the default X-API-Key header maps to its user and roles, per request', async () => {
    const result = await make({ keys }).authenticate(request('/', { 'x-api-key': PLAIN }))
    assert.equal(result?.identity.user, 'fiona')
    assert.deepEqual(result?.identity.roles, ['ci'])
    assert.equal(result?.identity.provider.type, 'apikey')
    assert.equal(result?.startSession, false)
  })

  test('a key configured only as key_sha256 (any hex case) is accepted', async () => {
    assert.equal((await make({ keys }).authenticate(request('/', { 'x-api-key': HASHED_PLAIN })))?.identity.user, 'other')
  })

  test('a query parameter works when configured; the header wins when both are sent', async () => {
    const auth = make({ header: 'apikey', query: 'apikey', keys })
    assert.equal((await auth.authenticate(request(`/sessions-test?a=1&apikey=${PLAIN}`)))?.identity.user, 'fiona')
    assert.equal((await auth.authenticate(request(`/x?apikey=${PLAIN}`, { apikey: HASHED_PLAIN })))?.identity.user, 'other')
  })

  test('query only (header: null): the header is not looked at', async () => {
    const auth = make({ header: null, query: 'key', keys })
    assert.equal(await auth.authenticate(request('/', { 'x-api-key': PLAIN })), null)
    assert.equal((await auth.authenticate(request(`/?key=${PLAIN}`)))?.identity.user, 'fiona')
  })

  test('no key, or an empty one: null (try the next authenticator)', async () => {
    const auth = make({ query: 'apikey', keys })
    assert.equal(await auth.authenticate(request('/')), null)
    assert.equal(await auth.authenticate(request('/?apikey=', { 'x-api-key': '' })), null)
  })

  test('an unknown key and an absurdly long one are unknown_api_key', async () => {
    const auth = make({ keys })
    assert.equal(await reasonOf(auth, request('/', { 'x-api-key': 'wrong-key-0000000000' })), 'unknown_api_key')
    assert.equal(await reasonOf(auth, request('/', { 'x-api-key': PLAIN + 'x'.repeat(2000) })), 'unknown_api_key')
    assert.equal(await reasonOf(auth, request('/', { 'x-api-key': PLAIN.toUpperCase() })), 'unknown_api_key', 'keys are case-sensitive')
  })

  test('create_session: true asks for a session (Kong session plugin after key-auth)', async () => {
    assert.equal((await make({ keys, create_session: true }).authenticate(request('/', { 'x-api-key': PLAIN })))?.startSession, true)
  })
})

describe('API key configuration', () => {
  test('a plain key is hashed when the file is read and never kept in the parsed configuration', () => {
    const config = parseConfig({ ...base, auth: { apikey: { keys } } }, {})
    assert.ok(!JSON.stringify(config).includes(PLAIN))
    assert.equal(config.auth.apikey!.keys[0]!.key_sha256, sha256(PLAIN))
    assert.equal(config.auth.apikey!.keys[1]!.key_sha256, sha256(HASHED_PLAIN), 'digests are normalised to lower case')
  })

  const problems = (apikey: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] => {
    try {
      parseConfig({ ...base, auth: { apikey, ...extra } }, {})
    } catch (error) {
      assert.ok(error instanceof ConfigInvalid)
      return [...error.problems]
    }
    return []
  }

  test('each problem is reported with its key path', () => {
    assert.deepEqual(problems({ keys: [{ user: 'x' }] }), ['auth.apikey.keys[0]: set exactly one of key, key_sha256'])
    assert.deepEqual(problems({ keys: [{ key: PLAIN, key_sha256: sha256(PLAIN), user: 'x' }] }), ['auth.apikey.keys[0]: set exactly one of key, key_sha256'])
    assert.deepEqual(problems({ keys: [{ key: 'short', user: 'x' }] }), ['auth.apikey.keys[0].key: API keys must be at least 16 characters'])
    assert.deepEqual(problems({ keys: [{ key_sha256: 'abc', user: 'x' }] }), ['auth.apikey.keys[0].key_sha256: expected 64 hex characters'])
    assert.deepEqual(problems({ header: null, keys }), ['auth.apikey: set header, query or both'])
    assert.deepEqual(problems({ keys: [keys[0], { key_sha256: sha256(PLAIN), user: 'dup' }] }), ['auth.apikey.keys[1]: the same key is listed twice'])
    assert.deepEqual(problems({ keys: [{ key: PLAIN, user: 'bad\nuser' }] }), ['auth.apikey.keys[0].user: must not contain control characters'])
    assert.deepEqual(problems({ keys: [{ key: PLAIN, user: 'u', roles: ['a,b'] }] }), ['auth.apikey.keys[0].roles[0]: must not contain commas or control characters'])
    assert.deepEqual(problems({ query: 'jwt', keys }, { jwt: { secret: 'x'.repeat(32), sources: ['query:jwt'] } }), ['auth.apikey.query: "jwt" is also a JWT source (auth.jwt.sources)'])
  })
})
