import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createAnonymousAuthenticator } from '../../src/auth/anonymous.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigInvalid } from '../../src/errors.js'

const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }

test('anonymous passes every request as the configured identity, without a session', async () => {
  const auth = createAnonymousAuthenticator(parseConfig({ ...base, auth: { anonymous: { enabled: true, user: 'guest', roles: ['public'] } } }, {}))
  const result = await auth.authenticate({ method: 'GET', url: '/', headers: {}, ip: '' })
  assert.equal(result?.identity.user, 'guest')
  assert.deepEqual(result?.identity.roles, ['public'])
  assert.equal(result?.identity.provider.type, 'anonymous')
  assert.equal(result?.startSession, false)
  assert.equal(auth.name, 'anonymous')
})

test('the anonymous user defaults to "anonymous" and may not hold control characters (it becomes a header)', () => {
  const config = parseConfig({ ...base, auth: { anonymous: { enabled: true } } }, {})
  assert.equal(config.auth.anonymous.user, 'anonymous')
  assert.throws(() => parseConfig({ ...base, auth: { anonymous: { enabled: true, user: 'a\r\nX-Evil: 1' } } }, {}), (error: unknown) =>
    error instanceof ConfigInvalid && error.problems.some((p) => p.startsWith('auth.anonymous.user: ')))
})
