import { storeExpiry, type Session } from './session.js'

/** Why a presented session cookie no longer works: the `reason` of the 401 and the `Gatehouse-Session-End` header. */
export type EndReason = 'session_expired' | 'session_revoked' | 'session_evicted' | 'unknown_session'

/** What a tombstone records: the ends that leave no record behind to tell them by. */
export type RecordedEnd = 'session_revoked' | 'session_evicted'

/** The part of SharedState (src/state/) these modules use: passed narrowly, and no import of it here. */
export interface EndState {
  get(key: string, now: number): Promise<string | null>
  set(key: string, value: string, ttlMs: number, now: number): Promise<void>
}

/**
 * A tombstone outlives nothing it describes: after this, a session with no expiry of its own is
 * reported as expired rather than revoked (400 days, the longest a browser keeps a cookie).
 */
export const MAX_TOMBSTONE_MS = 400 * 24 * 3_600_000

/**
 * Tombstones for sessions that ended without expiring (logout, revocation, eviction), read only
 * when a cookie whose signature verifies finds no record: valid sessions never pay for them.
 * Each lives until the session would have expired by itself (its store expiry): after that,
 * "expired" is the true answer anyway, so the storage stays bounded by the live sessions.
 */
export interface SessionEnds {
  record(sessions: readonly Session[], reason: RecordedEnd, now: number): Promise<void>
  /** The recorded end of this record id, or null when none was recorded. */
  recorded(id: string, now: number): Promise<RecordedEnd | null>
}

export function createSessionEnds(state: EndState): SessionEnds {
  return {
    async record(sessions, reason, now) {
      await Promise.all(
        sessions.map((session) => {
          const until = storeExpiry(session)
          const ttl = until === null ? MAX_TOMBSTONE_MS : Math.min(until - now, MAX_TOMBSTONE_MS)
          return ttl > 0 ? state.set(`end:${session.id}`, reason, ttl, now) : undefined
        }),
      )
    },
    async recorded(id, now) {
      const value = await state.get(`end:${id}`, now)
      return value === 'session_revoked' || value === 'session_evicted' ? value : null
    },
  }
}
