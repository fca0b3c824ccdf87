import type { Clock } from '../clock.js'
import { evaluate, type SessionPolicy } from './policy.js'
import type { Session } from './session.js'
import type { SessionAdmin } from './store/store.js'

/**
 * Whether the login behind a session that something long-lived was opened with (a WebSocket) is
 * still live: the current record (the same one, or its successor after rolling renewal), or null
 * once it was logged out, revoked, evicted or expired. Read-only: it never touches or renews.
 * Throws StoreUnavailable when the store cannot answer.
 */
export type SessionLiveness = (session: Session) => Promise<Session | null>

/** Pages of a user's sessions searched for the successor of a renewed one. */
const MAX_PAGES = 10

export function createSessionLiveness(admin: SessionAdmin | undefined, policy: SessionPolicy, clock: Clock): SessionLiveness {
  const live = (session: Session, now: number): boolean => {
    const verdict = evaluate(session, now, policy)
    return verdict.valid && session.graceUntil === undefined
  }

  // Rolling renewal copies the login (user, provider, createdAt, client) to a record with a new id, renewed later.
  const successor = async (session: Session, now: number): Promise<Session | null> => {
    let cursor: string | undefined
    for (let page = 0; page < MAX_PAGES; page++) {
      const found = await admin!.list({ user: session.user, provider: session.provider, limit: 100, cursor, now })
      const next = found.sessions.find((s) => s.id !== session.id && isRenewalOf(s, session) && live(s, now))
      if (next) return next
      if (!found.nextCursor) return null
      cursor = found.nextCursor
    }
    return null
  }

  return async (session) => {
    const now = clock.now()
    if (!admin) {
      // Cookie storage keeps nothing server side to look up: only the absolute lifespan is known here.
      return session.lifespanExpiresAt !== null && now >= session.lifespanExpiresAt ? null : session
    }
    const current = await admin.get(session.id)
    if (current && live(current, now)) return current
    if (current && !evaluate(current, now, policy).valid && current.graceUntil === undefined) return null
    // Gone (logout, revocation, or a renewal whose grace has passed) or replaced: look for the successor.
    return successor(session, now)
  }
}

function isRenewalOf(candidate: Session, session: Session): boolean {
  return candidate.createdAt === session.createdAt && candidate.renewedAt > session.renewedAt && candidate.client.ip === session.client.ip && candidate.client.userAgent === session.client.userAgent
}
