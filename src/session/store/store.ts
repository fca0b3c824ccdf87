import type { Session } from '../session.js'

export type StorageKind = 'cookie' | 'memory' | 'sqlite' | 'redis' | 'postgres'

/** Which sessions an admin operation applies to; an empty filter means all of them. */
export interface SessionFilter {
  readonly user?: string | undefined
  readonly provider?: { readonly type?: string | undefined; readonly name?: string | undefined } | undefined
}

export interface SessionQuery extends SessionFilter {
  readonly limit: number
  /** Records past their store expiry at this time (idle, lifespan, a renewed id's grace) are not listed. */
  readonly now: number
  /** Opaque, from the previous page's `nextCursor`. */
  readonly cursor?: string | undefined
}

export interface SessionPage {
  readonly sessions: Session[]
  readonly nextCursor: string | null
}

export interface CreateResult {
  /** The cookie value to hand to the browser. */
  readonly token: string
  readonly session: Session
  /** Sessions of the same user removed to respect `max_sessions`. */
  readonly evicted: readonly Session[]
}

/**
 * The one interface the session manager talks to, for every storage. The token is the cookie
 * value: a signed random id for server-side stores, the sealed session itself for cookie storage.
 * A token that is malformed, forged or unknown loads as null; it never throws for that.
 * Failures to reach a backend throw StoreUnavailable.
 */
export interface SessionStore {
  readonly kind: StorageKind
  /** False for cookie storage: nothing server side to list, limit or revoke. */
  readonly serverSide: boolean
  load(token: string): Promise<{ session: Session; reissue: boolean } | null>
  /** Stores a new session under a fresh id; evicts the user's oldest beyond `maxSessions` atomically. */
  create(session: Omit<Session, 'id'>, options: { maxSessions?: number | undefined; now: number }): Promise<CreateResult>
  /** Writes back last-seen / idle expiry; returns a new token when the cookie must change. */
  touch(token: string, session: Session): Promise<string | null>
  /**
   * Issues a new id for the same login; the old token keeps working until `graceUntil`. Null when
   * the record was removed or already replaced meanwhile (a logout racing the renewal): nothing written.
   */
  rotate(token: string, session: Session, next: Omit<Session, 'id'>, graceUntil: number): Promise<CreateResult | null>
  destroy(token: string, session: Session): Promise<void>
  /**
   * The record id behind a token whose signature verifies (it was issued with one of `secrets`),
   * without any store access; null for a forged or garbled one, and on cookie storage.
   */
  recordId(token: string): string | null
  /** Admin operations; absent on cookie storage. */
  readonly admin?: SessionAdmin | undefined
  ping(): Promise<void>
  close(): Promise<void>
}

export interface SessionAdmin {
  list(query: SessionQuery): Promise<SessionPage>
  get(id: string): Promise<Session | null>
  /** Removes by record id (the admin handle); returns how many existed. */
  remove(ids: readonly string[]): Promise<number>
  removeMatching(filter: SessionFilter): Promise<number>
  /** Deletes expired records, at most `batchSize`; returns how many. */
  removeExpired(now: number, batchSize: number): Promise<number>
  /**
   * Optional: true while `removeExpired` runs off the event loop (SQLite's maintenance thread),
   * so cleanup may use longer batches: they hold the store's write lock, not the requests.
   */
  removesOffThread?(): boolean
}

/**
 * What a server-side backend implements: records keyed by the hashed id.
 * `server-side.ts` turns any of these into a SessionStore.
 */
export interface RecordStore extends SessionAdmin {
  readonly kind: Exclude<StorageKind, 'cookie'>
  /** Null when absent or already past its store expiry. */
  getRecord(id: string, now: number): Promise<Session | null>
  /** Inserts; with `maxSessions`, removes the user's oldest live sessions beyond it in the same atomic step. */
  insert(session: Session, maxSessions: number | undefined, now: number): Promise<Session[]>
  /** Overwrites the mutable fields: lastSeen, idleExpiresAt, graceUntil. */
  update(session: Session): Promise<void>
  /**
   * Marks `previous` as replaced (its graceUntil set) and inserts `next`, atomically — only while
   * `previous` exists and is not replaced yet; false (nothing written) otherwise, so a logout or
   * revocation racing a renewal cannot leave a successor alive.
   */
  replace(previous: Session, next: Session): Promise<boolean>
  /**
   * Optional: backends shared by several gateway processes call `listener` when another
   * process changed or removed records, so read caches drop them at once.
   */
  onInvalidate?(listener: (ids: readonly string[] | 'all') => void): void
  /**
   * Optional, synchronous, called before a cached record is trusted: delivers to the
   * `onInvalidate` listener every invalidation committed by other processes so far (SQLite checks
   * `PRAGMA data_version`), and returns false when the cache must not be used right now (e.g.
   * the invalidation channel is down, so invalidations may be lost). Absent = always trusted.
   */
  freshen?(): boolean
  ping(): Promise<void>
  close(): Promise<void>
}
