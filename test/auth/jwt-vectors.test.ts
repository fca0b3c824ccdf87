import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { createJwtAuthenticator } from '../../src/auth/jwt.js'
import { createUserDirectory } from '../../src/auth/users.js'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { CredentialsRejected } from '../../src/errors.js'

/** A test vector: a fixed token, the `auth.jwt` settings, the time, and the outcome. */
interface Vector {
  description: string
  now: number
  config: Record<string, unknown>
  token: string
  expect: { user: string; roles: string[] } | { reason: string }
}

const dir = 'test/fixtures/jwt'

describe('JWT vectors (test/fixtures/jwt/*.json)', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const vector = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Vector
    test(`${file}: ${vector.description}`, async () => {
      const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['s'.repeat(32)], auth: { jwt: vector.config } }, {})
      const auth = createJwtAuthenticator(config, await createUserDirectory(config), new ManualClock(vector.now))
      const outcome = await auth.authenticate({ method: 'GET', url: '/', headers: { authorization: `Bearer ${vector.token}` }, ip: '' }).then(
        (result) => ({ user: result?.identity.user, roles: result?.identity.roles }),
        (error: unknown) => (assert.ok(error instanceof CredentialsRejected, String(error)), { reason: error.reason }),
      )
      assert.deepEqual(outcome, vector.expect)
    })
  }
})
