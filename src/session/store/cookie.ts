import { seal, unseal, type SealKey } from '../codec.js'
import { hashSessionId, newSessionId, type Session } from '../session.js'
import type { SessionStore } from './store.js'

/**
 * Stateless sessions: the whole record sealed into the cookie. Nothing is kept server side, so
 * a session cannot be listed, limited per user or revoked before it expires — logout only
 * deletes the cookie from that browser. Renewal seals a new value; the old value stays valid
 * until its own expiry (there is nothing to mark as replaced), which is why short idle and
 * rolling timeouts matter more here.
 */
export function createCookieStore(keys: readonly SealKey[]): SessionStore {
  const sealSession = (session: Session) => seal(Buffer.from(JSON.stringify(session)), keys)

  return {
    kind: 'cookie',
    serverSide: false,
    async load(token) {
      if (token.length > 16 * 1024) return null
      const opened = unseal(token, keys)
      if (!opened) return null
      let session: Session
      try {
        session = JSON.parse(opened.plaintext.toString('utf8')) as Session
      } catch {
        return null
      }
      if (typeof session?.user !== 'string' || typeof session.createdAt !== 'number') return null
      return { session, reissue: opened.keyIndex !== 0 }
    },
    async create(fields) {
      const session: Session = { ...fields, id: hashSessionId(newSessionId()) }
      return { token: sealSession(session), session, evicted: [] }
    },
    async touch(_token, session) {
      return sealSession(session)
    },
    async rotate(_token, _previous, next) {
      const session: Session = { ...next, id: hashSessionId(newSessionId()) }
      return { token: sealSession(session), session, evicted: [] }
    },
    async destroy() {},
    async ping() {},
    async close() {},
  }
}
