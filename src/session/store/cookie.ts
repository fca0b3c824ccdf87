import { seal, unseal, type SealKey } from '../codec.js'
import { hashSessionId, newSessionId, type Session } from '../session.js'
import { BoundedMap } from './bounded-map.js'
import type { SessionStore } from './store.js'

/**
 * Bounds of the opened-cookie cache: 20,000 cookies and 32 MiB of cookie text (a cookie is up
 * to 16 KiB; the decoded session weighs about as much again, so ~64 MiB worst case).
 */
export const OPENED_COOKIES_MAX_ENTRIES = 20_000
export const OPENED_COOKIES_MAX_CHARS = 32 * 1024 * 1024

/**
 * Stateless sessions: the whole record sealed into the cookie. Nothing is kept server side, so
 * a session cannot be listed, limited per user or revoked before it expires — logout only
 * deletes the cookie from that browser. Renewal seals a new value; the old value stays valid
 * until its own expiry (there is nothing to mark as replaced), which is why short idle and
 * rolling timeouts matter more here.
 *
 * A sealed value always opens to the same session, so opened cookies are cached (bounded, by
 * the exact cookie value): a known cookie costs a Map lookup instead of AES-GCM and JSON.parse.
 * There is nothing to invalidate, and expiry is judged by the session policy on every request.
 *
 * Seals are bound to `cookieName` (AES-GCM additional data): a value sealed by a deployment with
 * the same secrets but another cookie name is refused, as is a value from before that binding.
 *
 * Renewals are reused: a client that does not store cookies (a script with a fixed cookie, a
 * load test) keeps presenting a value whose last-seen is old, and each of its requests would be
 * touched (or rotated) and sealed again — measured: 13,000 → 7,700 req/s once its value was a
 * minute old. So the value issued for a presented one is handed out again for `reuseRenewalMs`
 * (the touch interval): its last-seen then lags by at most that, as last-seen does on every
 * storage (it is written at most once per touch interval).
 */
export function createCookieStore(keys: readonly SealKey[], cookieName: string, options: { reuseRenewalMs?: number } = {}): SessionStore {
  const sealSession = (session: Session) => seal(Buffer.from(JSON.stringify(session)), keys, cookieName)
  const opened = new BoundedMap<string, { session: Session; reissue: boolean }>(OPENED_COOKIES_MAX_ENTRIES, OPENED_COOKIES_MAX_CHARS)
  const reuseRenewalMs = options.reuseRenewalMs ?? 0
  /** Presented value → the value issued for it, with the session it carries and when (its lastSeen). */
  const renewals = new BoundedMap<string, { token: string; session: Session; at: number }>(OPENED_COOKIES_MAX_ENTRIES, OPENED_COOKIES_MAX_CHARS)
  const reused = (presented: string, now: number) => {
    const renewal = renewals.get(presented)
    return renewal && now - renewal.at < reuseRenewalMs && now >= renewal.at ? renewal : undefined
  }
  const remember = (presented: string, token: string, session: Session, at: number) => {
    if (reuseRenewalMs > 0) renewals.set(presented, { token, session, at }, presented.length + token.length)
  }

  const open = (token: string): { session: Session; reissue: boolean } | null => {
    const known = opened.get(token)
    if (known) return known
    if (token.length > 16 * 1024) return null
    const unsealed = unseal(token, keys, cookieName)
    if (!unsealed) return null
    let session: Session
    try {
      session = JSON.parse(unsealed.plaintext.toString('utf8')) as Session
    } catch {
      return null
    }
    if (typeof session?.user !== 'string' || typeof session.createdAt !== 'number') return null
    const result = { session, reissue: unsealed.keyIndex !== 0 }
    opened.set(token, result, token.length)
    return result
  }

  return {
    kind: 'cookie',
    serverSide: false,
    async load(token) {
      const result = open(token)
      // A shallow copy: callers reassign top-level fields (lastSeen, idleExpiresAt) only.
      return result ? { session: { ...result.session }, reissue: result.reissue } : null
    },
    async create(fields) {
      const session: Session = { ...fields, id: hashSessionId(newSessionId()) }
      return { token: sealSession(session), session, evicted: [] }
    },
    async touch(presented, session) {
      const earlier = reused(presented, session.lastSeen)
      if (earlier && earlier.session.id === session.id) return earlier.token
      const token = sealSession(session)
      remember(presented, token, { ...session }, session.lastSeen)
      return token
    },
    async rotate(presented, previous, next) {
      // One new id per presented value, however often it comes back within the interval.
      const earlier = reused(presented, next.lastSeen)
      if (earlier && earlier.session.id !== previous.id) return { token: earlier.token, session: { ...earlier.session }, evicted: [] }
      const session: Session = { ...next, id: hashSessionId(newSessionId()) }
      const token = sealSession(session)
      remember(presented, token, { ...session }, next.lastSeen)
      return { token, session, evicted: [] }
    },
    async destroy(token) {
      opened.delete(token)
      renewals.delete(token)
    },
    // Nothing server side: a cookie that does not open is unknown, and one that opens carries its own facts.
    recordId: () => null,
    async ping() {},
    async close() {
      opened.clear()
      renewals.clear()
    },
  }
}
