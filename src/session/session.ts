import { createHash, randomBytes } from 'node:crypto'
import type { Identity } from '../identity.js'

/** What a store keeps about one login. Times are ms since the epoch; `null` expiry = disabled. */
export interface Session {
  /** sha256 of the secret session id: the store key and the admin handle (not a credential). */
  readonly id: string
  readonly user: string
  readonly roles: readonly string[]
  readonly email?: string | undefined
  readonly provider: { readonly type: string; readonly name: string }
  readonly createdAt: number
  /** Last time a request used it; written back at most once per `touch_interval`. */
  lastSeen: number
  idleExpiresAt: number | null
  readonly lifespanExpiresAt: number | null
  /** When this id was issued; rolling renewal replaces the id `rolling_timeout` after it. */
  readonly renewedAt: number
  /** Set on an id replaced by renewal: it keeps working until then, for requests in flight. */
  graceUntil?: number | undefined
  readonly client: { readonly ip?: string | undefined; readonly userAgent?: string | undefined }
  /**
   * Random, set at login and kept by every renewal: which records belong to one login (the
   * rotation pair that logout ends together). Absent on records written before this field.
   */
  readonly login?: string | undefined
  readonly data?: Readonly<Record<string, unknown>> | undefined
  /** "Remember me" at sign-in (with `session.remember_me` enabled): the cookie persists (Max-Age) instead of ending with the browser. */
  readonly remember?: boolean | undefined
}

/** 256 random bits, base64url: the secret that goes into the cookie and nowhere else. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url')
}

/** A new login's `login` handle (not a secret: it opens nothing). */
export function newLoginId(): string {
  return randomBytes(12).toString('base64url')
}

/** Whether two records are the same login (the same `login`; for older records, the same user, provider, creation time and client). */
export function sameLoginAs(a: Session, b: Session): boolean {
  if (a.login !== undefined || b.login !== undefined) return a.login === b.login
  return a.user === b.user && a.createdAt === b.createdAt && a.provider.type === b.provider.type && a.provider.name === b.provider.name && a.client.ip === b.client.ip && a.client.userAgent === b.client.userAgent
}

/** The store key for a session id; stores never see the id itself. */
export function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex')
}

/** When the record can be forgotten by a store (TTL, cleanup); null = never on its own. */
export function storeExpiry(session: Session): number | null {
  const candidates = [session.idleExpiresAt, session.lifespanExpiresAt, session.graceUntil ?? null].filter(
    (value): value is number => value !== null,
  )
  return candidates.length > 0 ? Math.min(...candidates) : null
}

export interface ClientInfo {
  ip?: string | undefined
  userAgent?: string | undefined
}

export function sessionIdentity(session: Session): Identity {
  return { user: session.user, roles: session.roles, email: session.email, provider: session.provider, data: session.data }
}
