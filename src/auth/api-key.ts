import { createHash } from 'node:crypto'
import type { Config } from '../config/schema.js'
import { CredentialsRejected } from '../errors.js'
import type { Identity } from '../identity.js'
import type { Authenticator } from './authenticator.js'
import { queryOf } from './request-parts.js'

/**
 * Kong's key-auth: a key in a header and/or a query parameter maps to a user and roles.
 * Only SHA-256 digests are kept in memory (plain keys from the config are hashed at start),
 * and lookups go by digest, so no comparison ever touches the secret itself.
 */
export function createApiKeyAuthenticator(config: Config): Authenticator {
  const apikey = config.auth.apikey!
  const byDigest = new Map<string, Identity>()
  for (const entry of apikey.keys) {
    const digest = entry.key_sha256?.toLowerCase() ?? sha256(entry.key!)
    byDigest.set(digest, { user: entry.user, roles: entry.roles, provider: { type: 'apikey', name: 'apikey' } })
  }
  const header = apikey.header?.toLowerCase()

  return {
    name: 'apikey',
    type: 'apikey',
    async authenticate(request) {
      let presented: string | undefined
      if (header) {
        const value = request.headers[header]
        presented = Array.isArray(value) ? value[0] : value
      }
      if (presented === undefined && apikey.query) presented = queryOf(request.url)?.get(apikey.query) ?? undefined
      if (presented === undefined || presented === '') return null
      if (presented.length > 1024) throw new CredentialsRejected('API key rejected', { reason: 'unknown_api_key' })
      const identity = byDigest.get(sha256(presented))
      if (!identity) throw new CredentialsRejected('API key rejected', { reason: 'unknown_api_key' })
      return { identity, startSession: false }
    },
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
