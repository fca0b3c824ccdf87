import { sessionsToEvict } from '../policy.js'
import type { Session } from '../session.js'
import { compareSessions, decodeCursor, encodeCursor, isAfter, isExpired, isLive, matchesFilter } from './query.js'
import type { RecordStore } from './store.js'

/** Sessions in a Map: for tests and single-process setups that accept losing sessions on restart. */
export function createMemoryStore(): RecordStore {
  const records = new Map<string, Session>()
  const byUser = new Map<string, Set<string>>()

  const put = (session: Session) => {
    records.set(session.id, structuredClone(session))
    let ids = byUser.get(session.user)
    if (!ids) byUser.set(session.user, (ids = new Set()))
    ids.add(session.id)
  }
  const drop = (id: string): boolean => {
    const session = records.get(id)
    if (!session) return false
    records.delete(id)
    const ids = byUser.get(session.user)
    ids?.delete(id)
    if (ids?.size === 0) byUser.delete(session.user)
    return true
  }
  const userSessions = (user: string) => [...(byUser.get(user) ?? [])].map((id) => records.get(id)!)

  return {
    kind: 'memory',
    async getRecord(id, now) {
      const session = records.get(id)
      // Hot path: a shallow copy is enough, callers only reassign top-level fields.
      return session && !isExpired(session, now) ? { ...session } : null
    },
    async get(id) {
      const session = records.get(id)
      return session ? structuredClone(session) : null
    },
    async insert(session, maxSessions, now) {
      const live = userSessions(session.user).filter((existing) => isLive(existing, now))
      const evicted = sessionsToEvict(live, maxSessions)
      for (const old of evicted) drop(old.id)
      put(session)
      return evicted
    },
    async update(session) {
      if (records.has(session.id)) put(session)
    },
    async replace(previous, next) {
      const current = records.get(previous.id)
      if (!current || current.graceUntil !== undefined) return false
      put(previous)
      put(next)
      return true
    },
    async remove(ids) {
      return ids.filter(drop).length
    },
    async list(query) {
      const after = decodeCursor(query.cursor)
      const candidates = (query.user !== undefined ? userSessions(query.user) : [...records.values()])
        .filter((session) => matchesFilter(session, query) && isAfter(session, after) && !isExpired(session, query.now))
        .sort(compareSessions)
      const page = candidates.slice(0, query.limit).map((session) => structuredClone(session))
      const last = page.at(-1)
      return { sessions: page, nextCursor: candidates.length > query.limit && last ? encodeCursor(last) : null }
    },
    async removeMatching(filter) {
      const doomed = [...records.values()].filter((session) => matchesFilter(session, filter))
      return doomed.filter((session) => drop(session.id)).length
    },
    async removeExpired(now, batchSize) {
      let removed = 0
      for (const session of records.values()) {
        if (removed >= batchSize) break
        if (isExpired(session, now) && drop(session.id)) removed++
      }
      return removed
    },
    async ping() {},
    async close() {
      records.clear()
      byUser.clear()
    },
  }
}
