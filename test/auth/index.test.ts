import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createAuthenticators } from '../../src/auth/index.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'

const base = { upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)] }

test('without an auth key only the login form is on: no per-request authenticators', async () => {
  const config = parseConfig(base, {})
  assert.equal(config.auth.form.enabled, true)
  assert.deepEqual(createAuthenticators(config, await createUserDirectory(config), new ManualClock()), [])
})

test('authenticators come in the fixed documented order, whatever the order in the file', async () => {
  const config = parseConfig({
    ...base,
    auth: {
      anonymous: { enabled: true },
      external_basic: { url: 'http://127.0.0.1:9/check' },
      basic: { enabled: true },
      apikey: { keys: [{ key: 'k'.repeat(20), user: 'bot' }] },
      jwt: { secret: 'x'.repeat(32) },
    },
  }, {})
  const names = createAuthenticators(config, await createUserDirectory(config), new ManualClock()).map((a) => a.name)
  assert.deepEqual(names, ['jwt', 'apikey', 'basic', 'external_basic', 'anonymous'])
})

test('a disabled method is not built', async () => {
  const config = parseConfig({ ...base, auth: { basic: { enabled: false }, anonymous: { enabled: false }, jwt: { secret: 'x'.repeat(32) } } }, {})
  assert.deepEqual(createAuthenticators(config, await createUserDirectory(config), new ManualClock()).map((a) => a.name), ['jwt'])
})
