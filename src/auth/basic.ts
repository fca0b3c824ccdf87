import type { Clock } from '../clock.js'
import { CredentialsRejected } from '../errors.js'
import type { Identity } from '../identity.js'
import type { Authenticator } from './authenticator.js'
import { CredentialCache } from './credential-cache.js'
import { authorizationValue, decodeBasic } from '../http/request-parts.js'
import { UNLIMITED, type LoginLimiter } from './login-limit.js'
import { SingleFlight } from './single-flight.js'
import type { UserDirectory } from './users.js'

export interface BasicOptions {
  readonly createSession: boolean
  /** `auth.login_limit`; default none. */
  readonly limiter?: LoginLimiter | undefined
  /**
   * External Basic is on too: a name this directory does not know is the external service's to
   * judge (and count), not a failed login here.
   */
  readonly externalAlso?: boolean | undefined
}

/**
 * HTTP Basic against the internal users. Browsers resend the header on every request, so a
 * positive result is cached for a minute: an argon2id check per request would cost ~20 ms each.
 * A cache miss is a login attempt for `auth.login_limit`; identical credentials arriving
 * together share one check (one attempt, one hash).
 */
export function createBasicAuthenticator(users: UserDirectory, clock: Clock, options: BasicOptions): Authenticator {
  const cache = new CredentialCache(60_000, () => clock.now())
  const limiter = options.limiter ?? UNLIMITED
  const checking = new SingleFlight<Identity>()
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
      const identity = await checking.run(key, async () => {
        const attempt = await limiter.begin(credentials.username, request.ip)
        const user = await users.verify(credentials.username, credentials.password)
        if (!user) {
          await (options.externalAlso && !users.find(credentials.username) ? attempt.abandoned() : attempt.failed())
          throw new CredentialsRejected('invalid username or password', { reason: 'invalid_credentials' })
        }
        await attempt.succeeded()
        const verified: Identity = { user: user.username, roles: user.roles, email: user.email, provider: { type: 'basic', name: 'basic' } }
        cache.set(key, verified)
        return verified
      })
      return { identity, startSession: options.createSession }
    },
  }
}
