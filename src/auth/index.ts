import type { Clock } from '../clock.js'
import type { Config } from '../config/schema.js'
import { createAnonymousAuthenticator } from './anonymous.js'
import { createApiKeyAuthenticator } from './api-key.js'
import type { Authenticator } from './authenticator.js'
import { createBasicAuthenticator } from './basic.js'
import { createExternalBasicAuthenticator } from './external-basic.js'
import { createJwtAuthenticator } from './jwt.js'
import type { LoginLimiter } from './login-limit.js'
import type { UserDirectory } from './users.js'

/**
 * The per-request authenticators in their fixed order: jwt, apikey, basic, external_basic,
 * anonymous. The session cookie is always checked before all of them, and the login form has
 * its own endpoint.
 */
export function createAuthenticators(config: Config, users: UserDirectory, clock: Clock, limiter?: LoginLimiter): Authenticator[] {
  const auth = config.auth
  const list: Authenticator[] = []
  if (auth.jwt) list.push(createJwtAuthenticator(config, users, clock))
  if (auth.apikey) list.push(createApiKeyAuthenticator(config))
  if (auth.basic.enabled) list.push(createBasicAuthenticator(users, clock, { createSession: auth.basic.create_session, limiter, externalAlso: auth.external_basic !== undefined }))
  if (auth.external_basic) {
    const external = auth.external_basic
    list.push(createExternalBasicAuthenticator({ url: external.url, cacheTtlMs: external.cache_ttl, timeoutMs: external.timeout, createSession: external.create_session, limiter }, clock))
  }
  if (auth.anonymous.enabled) list.push(createAnonymousAuthenticator(config))
  return list
}
