import { request as httpRequest } from 'undici'
import type { Clock } from '../clock.js'
import { AuthServiceUnavailable, CredentialsRejected } from '../errors.js'
import type { Authenticator } from './authenticator.js'
import { CredentialCache } from './credential-cache.js'
import { authorizationValue, decodeBasic, isSafeName } from '../http/request-parts.js'

export interface ExternalBasicOptions {
  url: string
  cacheTtlMs: number
  timeoutMs: number
  createSession: boolean
}

/**
 * ROR's External Basic Auth: the credentials are valid when the configured URL answers 200 to
 * them. Successes are cached briefly under an HMAC of the credentials (never the password);
 * failures are not cached, and an unreachable service is a 503, never a pass.
 */
export function createExternalBasicAuthenticator(options: ExternalBasicOptions, clock: Clock): Authenticator {
  const cache = new CredentialCache(options.cacheTtlMs, () => clock.now())
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
        throw new AuthServiceUnavailable('external authentication service unreachable', { reason: 'external_auth_unavailable', cause: error })
      }
      if (status === 401 || status === 403) throw new CredentialsRejected('invalid username or password', { reason: 'invalid_credentials' })
      if (status !== 200) throw new AuthServiceUnavailable(`external authentication service answered ${status}`, { reason: 'external_auth_unavailable' })
      const identity = { user: credentials.username, roles: [], provider: { type: 'external_basic', name: new URL(options.url).host } }
      cache.set(key, identity)
      return { identity, startSession: options.createSession }
    },
  }
}
