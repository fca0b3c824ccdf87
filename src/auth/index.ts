import type { Config } from '../config/schema.js'
import type { Authenticator } from './authenticator.js'
import type { UserDirectory } from './users.js'

/**
 * The per-request authenticators, in the documented order. The login form is not one of them:
 * it has its own endpoint. Later kinds (basic, apikey, jwt, …) add a case here.
 */
export function createAuthenticators(_config: Config, _users: UserDirectory): Authenticator[] {
  return []
}
