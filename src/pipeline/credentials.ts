import type { Authenticator } from '../auth/authenticator.js'
import { withoutQueryParams } from '../http/request-parts.js'

/**
 * What the gateway consumed and so never passes on: the union of every configured
 * authenticator's declared credential locations, plus the session cookie. Built once.
 */
export interface ConsumedCredentials {
  /** Lower-case header names to drop from every forwarded request. */
  readonly headers: ReadonlySet<string>
  /** Whether a cookie of this name is the gateway's (session, its chunks, a credential cookie). */
  isCookie(name: string): boolean
  /** Whether a cookie of this name is the session cookie or one of its chunks: an upstream may never set it. */
  isSessionCookie(name: string): boolean
  /** Whether an `Authorization` header with this (lower-case) scheme is the gateway's once a caller is identified. */
  isAuthorizationScheme(scheme: string): boolean
  /** The URL without credential query parameters: what the upstream, logs and `rd` may see. */
  withoutQueryCredentials(url: string): string
}

export function consumedCredentials(authenticators: readonly Authenticator[], sessions: { ownsCookie(name: string): boolean }): ConsumedCredentials {
  const headers = new Set<string>()
  const cookies = new Set<string>()
  const schemes = new Set<string>()
  const queryParams: string[] = []
  for (const { credentials } of authenticators) {
    for (const header of credentials.headers ?? []) headers.add(header.toLowerCase())
    for (const cookie of credentials.cookies ?? []) cookies.add(cookie)
    for (const scheme of credentials.authorizationSchemes ?? []) schemes.add(scheme.toLowerCase())
    for (const param of credentials.queryParams ?? []) if (!queryParams.includes(param)) queryParams.push(param)
  }
  return {
    headers,
    isCookie: (name) => cookies.has(name) || sessions.ownsCookie(name),
    isSessionCookie: (name) => sessions.ownsCookie(name),
    isAuthorizationScheme: (scheme) => schemes.has(scheme),
    withoutQueryCredentials: (url) => withoutQueryParams(url, queryParams),
  }
}
