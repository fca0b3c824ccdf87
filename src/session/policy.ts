import type { Session } from './session.js'

/** The timeouts that apply to every session, whatever the store. All ms; null = disabled. */
export interface SessionPolicy {
  readonly idleTimeout: number | null
  readonly lifespan: number | null
  readonly rollingTimeout: number | null
  readonly touchInterval: number
  readonly rotationGrace: number
}

export type Verdict =
  | { readonly valid: false; readonly reason: 'idle_timeout' | 'lifespan' | 'replaced' }
  | { readonly valid: true; readonly touch: boolean; readonly rotate: boolean }

/** Pure: is the session usable at `now`, and does it need its last-seen written or its id renewed? */
export function evaluate(session: Session, now: number, policy: SessionPolicy): Verdict {
  if (session.lifespanExpiresAt !== null && now >= session.lifespanExpiresAt) return { valid: false, reason: 'lifespan' }
  if (session.idleExpiresAt !== null && now >= session.idleExpiresAt) return { valid: false, reason: 'idle_timeout' }
  if (session.graceUntil !== undefined) {
    // An id already replaced by renewal: usable briefly, never touched or renewed again.
    return now < session.graceUntil ? { valid: true, touch: false, rotate: false } : { valid: false, reason: 'replaced' }
  }
  const rotate = policy.rollingTimeout !== null && now - session.renewedAt >= policy.rollingTimeout
  const touch = policy.idleTimeout !== null && now - session.lastSeen >= policy.touchInterval
  return { valid: true, touch, rotate }
}

/** Expiries for a session that starts (or is seen) at `now`. `notAfter` caps the lifespan (e.g. a token's exp). */
export function initialExpiries(now: number, policy: SessionPolicy, notAfter?: number): {
  idleExpiresAt: number | null
  lifespanExpiresAt: number | null
} {
  let lifespanExpiresAt = policy.lifespan === null ? null : now + policy.lifespan
  if (notAfter !== undefined) lifespanExpiresAt = lifespanExpiresAt === null ? notAfter : Math.min(lifespanExpiresAt, notAfter)
  return { idleExpiresAt: nextIdleExpiry(now, policy), lifespanExpiresAt }
}

export function nextIdleExpiry(now: number, policy: SessionPolicy): number | null {
  return policy.idleTimeout === null ? null : now + policy.idleTimeout
}

/** Which of a user's sessions to evict so that one more fits under `maxSessions`: the oldest first. */
export function sessionsToEvict<T extends { createdAt: number; id: string }>(existing: readonly T[], maxSessions: number | undefined): T[] {
  if (maxSessions === undefined || existing.length < maxSessions) return []
  const oldestFirst = [...existing].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return oldestFirst.slice(0, existing.length - maxSessions + 1)
}
