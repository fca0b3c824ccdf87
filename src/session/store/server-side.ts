import type { Clock } from '../../clock.js'
import { sign, unsign } from '../keys.js'
import { hashSessionId, newSessionId, type Session } from '../session.js'
import { SessionReadCache } from './read-cache.js'
import type { CreateResult, RecordStore, SessionAdmin, SessionStore } from './store.js'

/**
 * Any record backend as a SessionStore: the cookie carries `id.mac`, the backend sees only
 * sha256(id). The MAC lets forged or garbled cookies be refused without a backend round trip.
 */
export function createServerSideStore(records: RecordStore, macKeys: readonly Buffer[], clock: Clock, options: { cacheTtlMs?: number } = {}): SessionStore {
  const cache = new SessionReadCache(options.cacheTtlMs ?? 0, () => clock.now())
  records.onInvalidate?.((ids) => (ids === 'all' ? cache.clear() : cache.evict(ids)))

  const issue = async (fields: Omit<Session, 'id'>, write: (session: Session) => Promise<Session[]>): Promise<CreateResult> => {
    const sessionId = newSessionId()
    const session: Session = { ...fields, id: hashSessionId(sessionId) }
    const evicted = await write(session)
    cache.evict(evicted.map((old) => old.id))
    return { token: sign(sessionId, macKeys), session, evicted }
  }

  // Admin writes evict what they touch; bulk ones drop the whole cache.
  const admin: SessionAdmin = {
    list: (query) => records.list(query),
    get: (id) => records.get(id),
    remove: async (ids) => (cache.evict(ids), records.remove(ids)),
    removeMatching: async (filter) => (cache.clear(), records.removeMatching(filter)),
    removeExpired: (now, batchSize) => records.removeExpired(now, batchSize),
  }

  return {
    kind: records.kind,
    serverSide: true,
    admin,

    async load(token) {
      const verified = unsign(token, macKeys)
      if (!verified) return null
      const id = hashSessionId(verified.value)
      let session = cache.get(id) ?? null
      if (!session) {
        session = await records.getRecord(id, clock.now())
        if (session) cache.set(session)
      }
      return session ? { session, reissue: verified.index !== 0 } : null
    },

    create(fields, { maxSessions, now }) {
      return issue(fields, (session) => records.insert(session, maxSessions, now))
    },

    async touch(token, session) {
      await records.update(session)
      cache.set(session)
      // A cookie signed with an older secret is re-signed with the current one.
      const verified = unsign(token, macKeys)
      return verified && verified.index !== 0 ? sign(verified.value, macKeys) : null
    },

    rotate(_token, previous, next, graceUntil) {
      return issue(next, async (session) => {
        const replaced = { ...previous, graceUntil }
        await records.replace(replaced, session)
        cache.set(replaced)
        return []
      })
    },

    async destroy(_token, session) {
      cache.evict([session.id])
      await records.remove([session.id])
    },

    ping: () => records.ping(),
    close: async () => (cache.clear(), records.close()),
  }
}
