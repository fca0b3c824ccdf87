import type { Config } from '../config/schema.js'
import type { Authenticator } from './authenticator.js'

/**
 * Kong's anonymous consumer: a request with no credentials at all passes as this identity.
 * It is tried last; routes can still refuse it (`roles`, `deny_anonymous`).
 */
export function createAnonymousAuthenticator(config: Config): Authenticator {
  const { user, roles } = config.auth.anonymous
  const identity = { user, roles, provider: { type: 'anonymous', name: 'anonymous' } }
  return {
    name: 'anonymous',
    type: 'anonymous',
    credentials: {},
    async authenticate() {
      return { identity, startSession: false }
    },
  }
}
