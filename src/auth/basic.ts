import type { Clock } from '../clock.js'
import { CredentialsRejected } from '../errors.js'
import type { Authenticator } from './authenticator.js'
import { CredentialCache } from './credential-cache.js'
import { authorizationValue, decodeBasic } from '../http/request-parts.js'
import type { UserDirectory } from './users.js'

/**
 * HTTP Basic against the internal users. Browsers resend the header on every request, so a
 * positive result is cached for a minute: an argon2id check per request would cost ~20 ms each.
 */
export function createBasicAuthenticator(users: UserDirectory, clock: Clock, options: { createSession: boolean }): Authenticator {
  const cache = new CredentialCache(60_000, () => clock.now())
  return {
    name: 'basic',
    type: 'basic',
    credentials: { authorizationSchemes: ['basic'] },
    async authenticate(request) {
      const value = authorizationValue(request.headers, 'Basic')
      if (value === undefined) return null
      const credentials = decodeBasic(value)
      if (!credentials) throw new CredentialsRejected('malformed Basic credentials', { reason: 'malformed_credentials' })
      const key = cache.keyOf(value)
      const cached = cache.get(key)
      if (cached) return { identity: cached, startSession: options.createSession }
      const user = await users.verify(credentials.username, credentials.password)
      if (!user) throw new CredentialsRejected('invalid username or password', { reason: 'invalid_credentials' })
      const identity = { user: user.username, roles: user.roles, email: user.email, provider: { type: 'basic', name: 'basic' } }
      cache.set(key, identity)
      return { identity, startSession: options.createSession }
    },
  }
}
