import type { Clock } from '../../clock.js'
import { sign, unsign } from '../keys.js'
import { hashSessionId, newSessionId, type Session } from '../session.js'
import type { CreateResult, RecordStore, SessionStore } from './store.js'

/**
 * Any record backend as a SessionStore: the cookie carries `id.mac`, the backend sees only
 * sha256(id). The MAC lets forged or garbled cookies be refused without a backend round trip.
 */
export function createServerSideStore(records: RecordStore, macKeys: readonly Buffer[], clock: Clock): SessionStore {
  const issue = async (fields: Omit<Session, 'id'>, write: (session: Session) => Promise<Session[]>): Promise<CreateResult> => {
    const sessionId = newSessionId()
    const session: Session = { ...fields, id: hashSessionId(sessionId) }
    const evicted = await write(session)
    return { token: sign(sessionId, macKeys), session, evicted }
  }

  return {
    kind: records.kind,
    serverSide: true,
    admin: records,

    async load(token) {
      const verified = unsign(token, macKeys)
      if (!verified) return null
      const session = await records.getRecord(hashSessionId(verified.value), clock.now())
      return session ? { session, reissue: verified.index !== 0 } : null
    },

    create(fields, { maxSessions, now }) {
      return issue(fields, (session) => records.insert(session, maxSessions, now))
    },

    async touch(token, session) {
      await records.update(session)
      // A cookie signed with an older secret is re-signed with the current one.
      const verified = unsign(token, macKeys)
      return verified && verified.index !== 0 ? sign(verified.value, macKeys) : null
    },

    rotate(_token, previous, next, graceUntil) {
      return issue(next, async (session) => {
        await records.replace({ ...previous, graceUntil }, session)
        return []
      })
    },

    async destroy(_token, session) {
      await records.remove([session.id])
    },

    ping: () => records.ping(),
    close: () => records.close(),
  }
}
