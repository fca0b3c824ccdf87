import { BadRequest } from '../../errors.js'
import { storeExpiry, type Session } from '../session.js'
import type { SessionFilter } from './store.js'

/** Listing order everywhere: oldest first, ties by id, so keyset cursors are stable. */
export interface CursorPosition {
  readonly createdAt: number
  readonly id: string
}

export function encodeCursor(session: Pick<Session, 'createdAt' | 'id'>): string {
  return Buffer.from(`${session.createdAt}:${session.id}`).toString('base64url')
}

export function decodeCursor(cursor: string | undefined): CursorPosition | null {
  if (cursor === undefined || cursor === '') return null
  const match = /^(\d{1,16}):([0-9a-f]{64})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!match) throw new BadRequest('invalid cursor', { reason: 'invalid_cursor' })
  return { createdAt: Number(match[1]), id: match[2]! }
}

export function isAfter(session: Pick<Session, 'createdAt' | 'id'>, position: CursorPosition | null): boolean {
  if (!position) return true
  return session.createdAt > position.createdAt || (session.createdAt === position.createdAt && session.id > position.id)
}

export function compareSessions(a: Pick<Session, 'createdAt' | 'id'>, b: Pick<Session, 'createdAt' | 'id'>): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

export function matchesFilter(session: Session, filter: SessionFilter): boolean {
  if (filter.user !== undefined && session.user !== filter.user) return false
  if (filter.provider?.type !== undefined && session.provider.type !== filter.provider.type) return false
  if (filter.provider?.name !== undefined && session.provider.name !== filter.provider.name) return false
  return true
}

export function isExpired(session: Session, now: number): boolean {
  const expiry = storeExpiry(session)
  return expiry !== null && expiry <= now
}

/** Counts toward `max_sessions`: not expired and not an id already replaced by renewal. */
export function isLive(session: Session, now: number): boolean {
  return session.graceUntil === undefined && !isExpired(session, now)
}
