import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Authenticator } from '../../src/auth/authenticator.js'
import { AuthServiceUnavailable, CredentialsRejected, type GatehouseError, StoreUnavailable, TooManyAttempts } from '../../src/errors.js'
import { createIdentify } from '../../src/pipeline/identify.js'
import type { BrowserSessions } from '../../src/session/browser-sessions.js'

const refusing = (name: string, error: GatehouseError): Authenticator => ({ name, type: name, credentials: {}, authenticate: async () => Promise.reject(error) })
const wrong = () => new CredentialsRejected('invalid username or password', { reason: 'invalid_credentials' })
const down = () => new AuthServiceUnavailable('down', { reason: 'external_auth_unavailable' })
const limited = () => new TooManyAttempts('later', { reason: 'too_many_attempts', retryAfterSeconds: 60 })

/** Which refusal the caller hears when every method refused: [first method's, second method's, expected]. */
const CASES: [string, () => GatehouseError, () => GatehouseError, number][] = [
  ['401 then an outage (internal Basic, then external Basic down)', wrong, down, 503],
  ['an outage then 401', down, wrong, 503],
  ['401 then a store outage', wrong, () => new StoreUnavailable('store down'), 503],
  ['401 then a login limit', wrong, limited, 429],
  ['a login limit then an outage', limited, down, 503],
  ['401 then 401: the first', wrong, () => new CredentialsRejected('x', { reason: 'malformed_credentials' }), 401],
]

for (const [name, first, second, status] of CASES) {
  test(`identify: ${name} → ${status}`, async () => {
    const identify = createIdentify({ sessions: {} as BrowserSessions, authenticators: [refusing('a', first()), refusing('b', second())] })
    const error = await identify({ method: 'GET', url: '/', headers: {}, ip: '127.0.0.1' }, [], ['a', 'b']).then(() => undefined, (e: unknown) => e as GatehouseError)
    assert.equal(error?.status, status)
  })
}
