import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import type { AuthRequest, Authenticator } from '../../src/auth/authenticator.js'
import { createBasicAuthenticator } from '../../src/auth/basic.js'
import { createUserDirectory, type UserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { CredentialsRejected } from '../../src/errors.js'
import { ALICE, testUsers } from '../helpers/gateway.js'

const encode = (text: string) => Buffer.from(text).toString('base64')
const withAuthorization = (value: string): AuthRequest => ({ method: 'GET', url: '/', headers: { authorization: value }, ip: '127.0.0.1' })

async function reasonOf(auth: Authenticator, request: AuthRequest): Promise<string | undefined> {
  const error = await auth.authenticate(request).then(() => undefined, (e: unknown) => e)
  assert.ok(error instanceof CredentialsRejected, `expected CredentialsRejected, got ${String(error)}`)
  assert.equal(error.code, 'ERR_CREDENTIALS_REJECTED')
  return error.reason
}

describe('HTTP Basic against the internal users', () => {
  let users: UserDirectory
  let verifications = 0
  const clock = new ManualClock()
  let auth: Authenticator

  before(async () => {
    const directory = await createUserDirectory(parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], users: await testUsers() }, {}))
    users = { ...directory, size: directory.size, find: directory.find, verify: (u, p) => (verifications++, directory.verify(u, p)) }
    auth = createBasicAuthenticator(users, clock, { createSession: false })
  })

  test('the right password gives the user with roles and email from the directory, per request', async () => {
    const result = await auth.authenticate(withAuthorization(`Basic ${encode(`${ALICE.username}:${ALICE.password}`)}`))
    assert.equal(result?.identity.user, 'alice')
    assert.deepEqual(result?.identity.roles, ALICE.roles)
    assert.equal(result?.identity.email, ALICE.email)
    assert.deepEqual(result?.identity.provider, { type: 'basic', name: 'basic' })
    assert.equal(result?.startSession, false)
  })

  test('create_session: the success asks for a session', async () => {
    const sessions = createBasicAuthenticator(users, clock, { createSession: true })
    assert.equal((await sessions.authenticate(withAuthorization(`Basic ${encode(`${ALICE.username}:${ALICE.password}`)}`)))?.startSession, true)
  })

  test('no Authorization header, or another scheme: null, so the next authenticator is tried', async () => {
    assert.equal(await auth.authenticate({ method: 'GET', url: '/', headers: {}, ip: '' }), null)
    assert.equal(await auth.authenticate(withAuthorization('Bearer abc.def.ghi')), null)
  })

  test('the scheme name is case-insensitive', async () => {
    assert.equal((await auth.authenticate(withAuthorization(`basic ${encode(`${ALICE.username}:${ALICE.password}`)}`)))?.identity.user, 'alice')
  })

  test('a wrong password and an unknown user are both invalid_credentials (never says which)', async () => {
    assert.equal(await reasonOf(auth, withAuthorization(`Basic ${encode('alice:wrong')}`)), 'invalid_credentials')
    assert.equal(await reasonOf(auth, withAuthorization(`Basic ${encode('nobody:whatever')}`)), 'invalid_credentials')
  })

  test('malformed credentials: not base64, no colon, empty user → malformed_credentials', async () => {
    for (const value of ['Basic !!!', `Basic ${encode('no-colon-here')}`, `Basic ${encode(':password-only')}`, 'Basic', `Basic ${'A'.repeat(5000)}`]) {
      assert.equal(await reasonOf(auth, withAuthorization(value)), 'malformed_credentials', value.slice(0, 30))
    }
  })

  test('a success is cached for a minute (no second argon2 check); failures are not cached', async () => {
    const header = withAuthorization(`Basic ${encode(`${ALICE.username}:${ALICE.password}`)}`)
    const fresh = createBasicAuthenticator(users, clock, { createSession: false })
    const start = verifications
    await fresh.authenticate(header)
    await fresh.authenticate(header)
    assert.equal(verifications - start, 1)
    clock.advance(61_000)
    await fresh.authenticate(header)
    assert.equal(verifications - start, 2, 'checked again after the cache entry expired')
    const wrong = withAuthorization(`Basic ${encode('alice:nope')}`)
    await reasonOf(fresh, wrong)
    await reasonOf(fresh, wrong)
    assert.equal(verifications - start, 4)
  })

  test('the rejection carries neither the password nor the header', async () => {
    const error = await auth.authenticate(withAuthorization(`Basic ${encode('alice:s3cret-pw')}`)).catch((e: Error) => e)
    assert.ok(error instanceof Error)
    assert.ok(!JSON.stringify({ ...error, message: error.message }).includes('s3cret-pw'))
    assert.ok(!JSON.stringify({ ...error, message: error.message }).includes(encode('alice:s3cret-pw')))
  })
})
