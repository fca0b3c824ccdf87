import { request as httpRequest } from 'undici'
import type { Clock } from '../clock.js'
import { AuthServiceUnavailable, CredentialsRejected } from '../errors.js'
import type { Authenticator } from './authenticator.js'
import { CredentialCache } from './credential-cache.js'
import { authorizationValue, decodeBasic, isSafeName } from '../http/request-parts.js'
import type { Identity } from '../identity.js'
import { UNLIMITED, type LoginLimiter } from './login-limit.js'
import { SingleFlight } from './single-flight.js'

export interface ExternalBasicOptions {
  url: string
  cacheTtlMs: number
  timeoutMs: number
  createSession: boolean
  /** `auth.login_limit`: a refusal by the service is a failed login; an outage is not. */
  limiter?: LoginLimiter | undefined
}

/**
 * ROR's External Basic Auth: the credentials are valid when the configured URL answers 200 to
 * them. Successes are cached briefly under an HMAC of the credentials (never the password);
 * failures are not cached, and an unreachable service is a 503, never a pass.
 */
export function createExternalBasicAuthenticator(options: ExternalBasicOptions, clock: Clock): Authenticator {
  const cache = new CredentialCache(options.cacheTtlMs, () => clock.now())
  const limiter = options.limiter ?? UNLIMITED
  const checking = new SingleFlight<Identity>()
  return {
    name: 'external_basic',
    type: 'external_basic',
    credentials: { authorizationSchemes: ['basic'] },
    async authenticate(request) {
      const value = authorizationValue(request.headers, 'Basic')
      if (value === undefined) return null
      const credentials = decodeBasic(value)
      if (!credentials || !isSafeName(credentials.username)) throw new CredentialsRejected('malformed Basic credentials', { reason: 'malformed_credentials' })
      const key = cache.keyOf(value)
      const cached = cache.get(key)
      if (cached) return { identity: cached, startSession: options.createSession }
      const identity = await checking.run(key, async () => {
        const attempt = await limiter.begin(credentials.username, request.ip)
        let status: number
        try {
          // One deadline for connect, headers and body: a black-holed service must not hang requests.
          const response = await httpRequest(options.url, {
            method: 'GET',
            headers: { authorization: `Basic ${value}`, 'user-agent': 'gatehouse' },
            signal: AbortSignal.timeout(options.timeoutMs),
          })
          status = response.statusCode
          await response.body.dump()
        } catch (error) {
          await attempt.abandoned()
          throw new AuthServiceUnavailable('external authentication service unreachable', { reason: 'external_auth_unavailable', cause: error })
        }
        if (status === 401 || status === 403) {
          await attempt.failed()
          throw new CredentialsRejected('invalid username or password', { reason: 'invalid_credentials' })
        }
        if (status !== 200) {
          await attempt.abandoned()
          throw new AuthServiceUnavailable(`external authentication service answered ${status}`, { reason: 'external_auth_unavailable' })
        }
        await attempt.succeeded()
        const verified: Identity = { user: credentials.username, roles: [], provider: { type: 'external_basic', name: new URL(options.url).host } }
        cache.set(key, verified)
        return verified
      })
      return { identity, startSession: options.createSession }
    },
  }
}
