import type { Clock } from '../../clock.js'
import { sign, unsign } from '../keys.js'
import { hashSessionId, newSessionId, type Session } from '../session.js'
import { BoundedMap } from './bounded-map.js'
import { SessionReadCache } from './read-cache.js'
import type { CreateResult, RecordStore, SessionAdmin, SessionStore } from './store.js'

/**
 * Bound of the verified-cookie cache: 50,000 cookies (~66-byte cookie + 64-byte id + entry:
 * ~300 B each, ~15 MB worst case). A cookie value whose MAC verified once always verifies with
 * the same keys, so the mapping never goes stale; only forged values are never cached.
 */
export const VERIFIED_TOKENS_MAX_ENTRIES = 50_000

interface Verified {
  /** sha256 of the secret id: the record key. */
  readonly id: string
  /** The secret id, to re-sign with the current key. */
  readonly value: string
  /** Signed with an older secret: re-sign. */
  readonly reissue: boolean
}

/**
 * Any record backend as a SessionStore: the cookie carries `id.mac`, the backend sees only
 * sha256(id). The MAC lets forged or garbled cookies be refused without a backend round trip.
 *
 * Hot path of a known cookie: one Map lookup for the verified cookie (no HMAC, no SHA-256),
 * `records.freshen()` (SQLite: one `PRAGMA data_version`), one Map lookup for the record.
 */
export function createServerSideStore(records: RecordStore, macKeys: readonly Buffer[], clock: Clock, options: { cacheTtlMs?: number } = {}): SessionStore {
  const cache = new SessionReadCache(options.cacheTtlMs ?? 0, () => clock.now())
  const verifiedTokens = new BoundedMap<string, Verified>(VERIFIED_TOKENS_MAX_ENTRIES)
  records.onInvalidate?.((ids) => (ids === 'all' ? cache.clear() : cache.evict(ids)))
  const freshen = records.freshen?.bind(records)
  /** Before trusting the cache: pending cross-process invalidations applied, channel up. */
  const trusted = () => cache.enabled && (freshen ? freshen() : true)

  const verify = (token: string): Verified | null => {
    let verified = verifiedTokens.get(token)
    if (verified) return verified
    const opened = unsign(token, macKeys)
    if (!opened) return null
    verified = { id: hashSessionId(opened.value), value: opened.value, reissue: opened.index !== 0 }
    verifiedTokens.set(token, verified)
    return verified
  }

  const issue = async (fields: Omit<Session, 'id'>, write: (session: Session) => Promise<Session[]>): Promise<CreateResult> => {
    const sessionId = newSessionId()
    const session: Session = { ...fields, id: hashSessionId(sessionId) }
    const evicted = await write(session)
    if (evicted.length > 0) cache.evict(evicted.map((old) => old.id))
    return { token: sign(sessionId, macKeys), session, evicted }
  }

  // Removals evict before and again after the write: a load in flight meanwhile may have put
  // the record back. Admin writes evict what they touch; bulk ones drop the whole cache.
  const removing = async <T>(drop: () => void, write: () => Promise<T>): Promise<T> => {
    drop()
    try {
      return await write()
    } finally {
      drop()
    }
  }
  const admin: SessionAdmin = {
    list: (query) => records.list(query),
    get: (id) => records.get(id),
    remove: (ids) => removing(() => cache.evict(ids), () => records.remove(ids)),
    removeMatching: (filter) => removing(() => cache.clear(), () => records.removeMatching(filter)),
    removeExpired: (now, batchSize) => records.removeExpired(now, batchSize),
    removesOffThread: () => records.removesOffThread?.() ?? false,
  }

  return {
    kind: records.kind,
    serverSide: true,
    admin,

    async load(token) {
      const verified = verify(token)
      if (!verified) return null
      const useCache = trusted()
      let session = useCache ? (cache.get(verified.id) ?? null) : null
      if (!session) {
        const generation = cache.generation
        session = await records.getRecord(verified.id, clock.now())
        if (!session) {
          verifiedTokens.delete(token)
          return null
        }
        if (useCache) cache.set(session, generation)
      }
      return { session, reissue: verified.reissue }
    },

    create(fields, { maxSessions, now }) {
      return issue(fields, (session) => records.insert(session, maxSessions, now))
    },

    async touch(token, session) {
      const generation = cache.generation
      await records.update(session)
      cache.set(session, generation)
      // A cookie signed with an older secret is re-signed with the current one.
      const verified = verify(token)
      return verified?.reissue ? sign(verified.value, macKeys) : null
    },

    async rotate(_token, previous, next, graceUntil) {
      const sessionId = newSessionId()
      const session: Session = { ...next, id: hashSessionId(sessionId) }
      const replaced = { ...previous, graceUntil }
      const generation = cache.generation
      if (!(await records.replace(replaced, session))) {
        // Removed or renewed meanwhile (by another process): whatever is cached is stale.
        cache.evict([previous.id])
        return null
      }
      cache.set(replaced, generation)
      return { token: sign(sessionId, macKeys), session, evicted: [] }
    },

    recordId: (token) => verify(token)?.id ?? null,

    async destroy(token, session) {
      verifiedTokens.delete(token)
      await removing(() => cache.evict([session.id]), () => records.remove([session.id]))
    },

    ping: () => records.ping(),
    close: async () => (cache.clear(), verifiedTokens.clear(), records.close()),
  }
}
