import { createHash } from 'node:crypto'
import type { Config } from '../config/schema.js'
import { CredentialsRejected } from '../errors.js'
import type { Identity } from '../identity.js'
import type { Authenticator } from './authenticator.js'
import { queryOf } from '../http/request-parts.js'

/** Longer values are refused unhashed: no key is that long, and hashing megabytes is a DoS lever. */
const MAX_KEY_LENGTH = 1024

/**
 * Kong's key-auth: a key in a header and/or a query parameter maps to a user and roles.
 * Only SHA-256 digests exist in memory (the schema hashes plain keys and drops them), and the
 * lookup goes by the digest of what was presented: its timing depends on that digest only, which
 * an attacker cannot steer towards a stored one, so nothing is learned about any stored key.
 */
export function createApiKeyAuthenticator(config: Config): Authenticator {
  const apikey = config.auth.apikey!
  const byDigest = new Map<string, Identity>()
  for (const entry of apikey.keys) {
    byDigest.set(entry.key_sha256, { user: entry.user, roles: entry.roles, provider: { type: 'apikey', name: 'apikey' } })
  }
  const header = apikey.header?.toLowerCase()

  return {
    name: 'apikey',
    type: 'apikey',
    credentials: { headers: header ? [header] : [], queryParams: apikey.query ? [apikey.query] : [] },
    async authenticate(request) {
      let presented: string | undefined
      if (header) {
        const value = request.headers[header]
        presented = Array.isArray(value) ? value[0] : value
      }
      if ((presented === undefined || presented === '') && apikey.query) presented = queryOf(request.url)?.get(apikey.query) ?? undefined
      if (presented === undefined || presented === '') return null
      const identity = presented.length <= MAX_KEY_LENGTH ? byDigest.get(sha256(presented)) : undefined
      if (!identity) throw new CredentialsRejected('API key rejected', { reason: 'unknown_api_key' })
      return { identity, startSession: apikey.create_session }
    },
  }
}

/** The digest form of a key, as `key_sha256` expects it (lower-case hex). */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
