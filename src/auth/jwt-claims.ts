import type { JwtConfig } from '../config/schema.js'
import { CredentialsRejected, type Reason } from '../errors.js'
import type { Identity } from '../identity.js'
import { isSafeName, isSafeRole } from '../http/request-parts.js'
import type { UserDirectory } from './users.js'

/** Where a JWT may come from: `header` (Authorization: Bearer), `cookie:<name>`, `query:<param>`. */
export type JwtSource = { kind: 'header' } | { kind: 'cookie'; name: string } | { kind: 'query'; name: string }

/** A verified token's payload; kept jose-free so only jwt.ts imports jose. */
export type Claims = Readonly<Record<string, unknown>>

/** Parses `auth.jwt.sources` (already validated by the schema). */
export function parseSources(sources: readonly string[]): JwtSource[] {
  return sources.map((source): JwtSource => {
    if (source === 'header') return { kind: 'header' }
    const colon = source.indexOf(':')
    const kind = source.slice(0, colon) === 'cookie' ? 'cookie' : 'query'
    return { kind, name: source.slice(colon + 1) }
  })
}

/** A rejection with its stable reason; the message is generic on purpose and never holds the token. */
export function rejectToken(reason: Reason): CredentialsRejected {
  return new CredentialsRejected('token rejected', { reason })
}

/**
 * The identity a verified token stands for. The user and roles end up in upstream headers, so
 * anything with control characters (CR/LF header injection), whitespace at either end (`"alice "`
 * read as `alice`) or commas in a role (forged extra groups) is refused or dropped; names in any
 * script are fine (headers carry them percent-encoded). With `validate_against_users` the directory decides who exists and their
 * roles (ClusterCockpit's forceJWTValidationViaDatabase).
 */
export function identityFromClaims(payload: Claims, jwt: JwtConfig, users: UserDirectory, outliveToken: boolean): Identity {
  const user = claimAt(payload, jwt.user_claim)
  if (!isSafeName(user)) throw rejectToken('missing_user_claim')
  let roles = toRoles(claimAt(payload, jwt.roles_claim))
  let email = isSafeName(payload.email) ? payload.email : undefined
  if (jwt.validate_against_users) {
    const known = users.find(user)
    if (!known) throw rejectToken('unknown_user')
    roles = [...known.roles]
    email = known.email
  }
  return {
    user,
    roles,
    email,
    provider: { type: 'jwt', name: jwt.issuer ?? 'jwt' },
    data: { jti: payload.jti, exp: payload.exp, iss: payload.iss },
    notAfter: outliveToken ? undefined : tokenNotAfter(payload, jwt.max_age),
  }
}

/** The last moment the token is acceptable (ms): its `exp`, or `iat + max_age`, whichever is first. */
function tokenNotAfter(payload: Claims, maxAgeMs: number | undefined): number | undefined {
  const bounds: number[] = []
  if (typeof payload.exp === 'number') bounds.push(payload.exp * 1000)
  if (maxAgeMs !== undefined && typeof payload.iat === 'number') bounds.push(payload.iat * 1000 + maxAgeMs)
  return bounds.length > 0 ? Math.min(...bounds) : undefined
}

/** A claim by dotted path (`realm_access.roles`); undefined when any step is missing. */
export function claimAt(payload: Claims, path: string): unknown {
  let value: unknown = payload
  for (const part of path.split('.')) {
    if (!value || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** Roles from an array or a space/comma-separated string; unsafe entries are dropped. */
export function toRoles(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter(isSafeRole)
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(isSafeRole)
  return []
}
