import type { OidcProviderConfig } from '../config/schema.js'
import { CredentialsRejected, Forbidden } from '../errors.js'
import { isSafeName } from '../http/request-parts.js'
import type { Identity } from '../identity.js'
import { claimAt, toRoles, type Claims } from '../auth/jwt-claims.js'

/**
 * The gateway identity for a validated ID token: user from `user_claim` (default
 * `preferred_username`, then `sub`), roles and e-mail from their (dotted) claims. Values that
 * could not go into a header safely are refused or dropped, as for JWTs. `allowed_roles`
 * refuses everyone else with a 403.
 */
export function identityFromIdToken(claims: Claims, provider: OidcProviderConfig, login: { handle: string }): Identity {
  const user = provider.user_claim ? claimAt(claims, provider.user_claim) : (isSafeName(claims.preferred_username) ? claims.preferred_username : claims.sub)
  if (!isSafeName(user)) throw new CredentialsRejected(`the ID token has no usable ${provider.user_claim ?? 'preferred_username or sub'} claim`, { reason: 'missing_user_claim' })
  const roles = toRoles(claimAt(claims, provider.roles_claim))
  if (provider.allowed_roles && !roles.some((role) => provider.allowed_roles!.includes(role))) {
    throw new Forbidden(`Your account at ${provider.name} has none of the roles this site requires.`, { reason: 'oidc_role_not_allowed' })
  }
  const email = claimAt(claims, provider.email_claim)
  return {
    user,
    roles,
    email: isSafeName(email) ? email : undefined,
    provider: { type: 'oidc', name: provider.name },
    data: { oidc: { login: login.handle, sub: String(claims.sub), ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}) } },
  }
}

/** The OIDC facts a session keeps in its data (see identityFromIdToken); null for other sessions. */
export function oidcData(data: Readonly<Record<string, unknown>> | undefined): { login: string; sub: string; sid?: string | undefined } | null {
  const value = data?.oidc as { login?: unknown; sub?: unknown; sid?: unknown } | undefined
  if (!value || typeof value.login !== 'string' || typeof value.sub !== 'string') return null
  return { login: value.login, sub: value.sub, sid: typeof value.sid === 'string' ? value.sid : undefined }
}
