import type { SessionEnds } from './ends.js'
import { sameLogin } from './manager.js'
import type { Session } from './session.js'
import type { SessionAdmin } from './store/store.js'

const BATCH = 500

/**
 * The admin operations (API, CLI, logout by token, removed users) on a server-side store, leaving
 * a `session_revoked` tombstone for each live session they end, written before the record goes so
 * a replay of its cookie is never told "expired" in between. One session ends with the other id
 * of its rotation pair.
 *
 * `onEnded` hears of every live session it ended (after the removal), for what lives beside
 * the session: an OIDC login's tokens in the shared state. It must not reject (the sessions are
 * already ended; the caller logs its own failures).
 */
export function createEndingAdmin(admin: SessionAdmin, ends: SessionEnds, now: () => number, onEnded?: (sessions: readonly Session[]) => Promise<void>): SessionAdmin {
  const told = async (sessions: readonly Session[]) => {
    if (onEnded && sessions.length > 0) await onEnded(sessions)
  }
  const end = async (sessions: readonly Session[], at: number): Promise<number> => {
    if (sessions.length === 0) return 0
    await ends.record(sessions, 'session_revoked', at)
    const removed = await admin.remove(sessions.map((s) => s.id))
    await told(sessions)
    return removed
  }
  return {
    ...admin,
    list: (query) => admin.list(query),
    get: (id) => admin.get(id),
    removeExpired: (at, batchSize) => admin.removeExpired(at, batchSize),
    async remove(ids) {
      const at = now()
      const found = (await Promise.all(ids.map((id) => admin.get(id)))).filter((s): s is Session => s !== null)
      await ends.record(found, 'session_revoked', at)
      const total = await admin.remove(ids)
      await told(found)
      for (const session of found) await end(await sameLogin(admin, session, at), at)
      return total
    },
    async removeMatching(filter) {
      const at = now()
      let total = 0
      // Live ones page by page with their tombstones (keyset pages are not thrown off by removals),
      // then whatever is left (expired records need no tombstone).
      for (;;) {
        const page = await admin.list({ ...filter, limit: BATCH, now: at })
        const removed = await end(page.sessions, at)
        total += removed
        // Each page is the first one left; stop when it was the last, or nothing could be removed.
        if (!page.nextCursor || removed === 0) break
      }
      return total + (await admin.removeMatching(filter))
    },
  }
}
