import { createHash } from 'node:crypto'
import type { EndState } from './ends.js'
import { MAX_TOMBSTONE_MS } from './ends.js'
import type { Session } from './session.js'
import { BoundedMap } from './store/bounded-map.js'
import type { SessionFilter } from './store/store.js'

/** The part of SharedState revocations use (see EndState). */
export interface RevocationState extends EndState {
  increment(key: string, ttlMs: number, now: number): Promise<{ count: number; resetAt: number }>
  count(key: string, now: number): Promise<{ count: number; resetAt: number }>
}

/**
 * How this process learns that another one revoked something, without a store round trip per
 * request: SQLite's `PRAGMA data_version`, Redis pub/sub, PostgreSQL LISTEN/NOTIFY (see
 * revocation-signal.ts). `changed()` is synchronous and cheap; true means "maybe" (also while the
 * channel is down, so the cache is then checked on every request).
 */
export interface ChangeSignal {
  changed(): boolean
  /** After a write: tell the other processes. */
  announce(): Promise<void>
  close(): Promise<void>
}

/** Bound of the verdict cache: 50,000 sessions (an id and a boolean each). */
export const REVOCATION_CACHE_MAX_ENTRIES = 50_000
const GENERATION = 'rv:gen'

/**
 * Revocation of cookie-storage sessions, which live only in browsers. Two kinds of entry, both
 * expiring (bounded storage):
 * - a login (its `login` id, which every renewal of it keeps): logout, so the
 *   cookies of every renewal of it are refused, the ones before and after the one logged out with;
 *   kept until the login's lifespan ends;
 * - "revoked before T" for a filter (all, a user, a provider, or both): `_invalidate`, `gatehouse
 *   sessions revoke`, a removed user; kept for `maxLifetimeMs` (the longest a cookie can live).
 *
 * The hot path: one `changed()` and one Map lookup per request for a session checked before.
 * Every write bumps a generation counter; a process that sees `changed()` reads the counter (one
 * round trip), and drops its verdicts when it moved.
 */
export interface Revocations {
  isRevoked(session: Session, now: number): Promise<boolean>
  revokeLogins(sessions: readonly Session[], now: number): Promise<void>
  revokeMatching(filter: SessionFilter, now: number): Promise<void>
  close(): Promise<void>
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url')
// Cookies sealed before `login` existed: the user and creation time stand for the login.
const loginKey = (session: Session) => (session.login !== undefined ? `rv:l:${session.login}` : `rv:l:${digest(session.user)}:${session.createdAt}`)
const filterKey = (user: string | undefined, type: string | undefined, name: string | undefined) => `rv:f:${digest(JSON.stringify([user ?? null, type ?? null, name ?? null]))}`

/** Every filter an `_invalidate` could have used that matches this session. */
function filtersOf(session: Session): string[] {
  const { user } = session
  const { type, name } = session.provider
  return [filterKey(undefined, undefined, undefined), filterKey(user, undefined, undefined), filterKey(undefined, type, undefined), filterKey(undefined, type, name), filterKey(user, type, undefined), filterKey(user, type, name)]
}

export function createRevocations(state: RevocationState, signal: ChangeSignal, options: { maxLifetimeMs: number | null }): Revocations {
  const maxLifetime = Math.min(options.maxLifetimeMs ?? MAX_TOMBSTONE_MS, MAX_TOMBSTONE_MS)
  const verdicts = new BoundedMap<string, boolean>(REVOCATION_CACHE_MAX_ENTRIES)
  let seen: string | undefined
  // Bumped whenever verdicts are dropped: a lookup in flight meanwhile must not store its answer.
  let epoch = 0
  const drop = () => (verdicts.clear(), epoch++)

  const refresh = async (now: number) => {
    const generation = await state.count(GENERATION, now)
    const mark = `${generation.count}@${generation.resetAt}`
    if (mark !== seen) (seen = mark, drop())
  }
  const written = async (now: number) => {
    drop()
    await state.increment(GENERATION, MAX_TOMBSTONE_MS, now)
    await signal.announce()
  }
  const lookup = async (session: Session, now: number): Promise<boolean> => {
    const [login, ...markers] = await Promise.all([state.get(loginKey(session), now), ...filtersOf(session).map((key) => state.get(key, now))])
    return login !== null || markers.some((marker) => marker !== null && Number(marker) >= session.createdAt)
  }

  return {
    async isRevoked(session, now) {
      if (seen === undefined || signal.changed()) await refresh(now)
      const known = verdicts.get(session.id)
      if (known !== undefined) return known
      const at = epoch
      const revoked = await lookup(session, now)
      if (at === epoch) verdicts.set(session.id, revoked)
      return revoked
    },
    async revokeLogins(sessions, now) {
      await Promise.all(
        sessions.map((session) => {
          const ttl = session.lifespanExpiresAt === null ? maxLifetime : Math.min(session.lifespanExpiresAt - now, MAX_TOMBSTONE_MS)
          return ttl > 0 ? state.set(loginKey(session), '1', ttl, now) : undefined
        }),
      )
      await written(now)
    },
    async revokeMatching(filter, now) {
      await state.set(filterKey(filter.user, filter.provider?.type, filter.provider?.name), String(now), maxLifetime, now)
      await written(now)
    },
    close: () => signal.close(),
  }
}
