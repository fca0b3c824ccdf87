import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreUnavailable } from '../../errors.js'
import { sessionsToEvict } from '../policy.js'
import { storeExpiry, type Session } from '../session.js'
import { decodeCursor, encodeCursor } from './query.js'
import { storeFailure } from './failure.js'
import type { RecordStore, SessionFilter } from './store.js'

interface Row {
  record: string
}

/**
 * The embedded default: one SQLite file (WAL), so sessions survive a restart with no server
 * to run. Writes that must be atomic (max_sessions eviction, renewal) run in IMMEDIATE
 * transactions, which also serialise them across processes sharing the file.
 */
export function createSqliteStore(path: string): RecordStore {
  let db: Database.Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    db.pragma('synchronous = NORMAL')
    db.exec(`
      CREATE TABLE IF NOT EXISTS gatehouse_sessions (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        provider_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        replaced INTEGER NOT NULL DEFAULT 0,
        record TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS gatehouse_sessions_user ON gatehouse_sessions (user, created_at);
      CREATE INDEX IF NOT EXISTS gatehouse_sessions_expiry ON gatehouse_sessions (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX IF NOT EXISTS gatehouse_sessions_created ON gatehouse_sessions (created_at, id);
    `)
  } catch (error) {
    throw new StoreUnavailable(`cannot open the SQLite session store at ${path}: ${(error as Error).message}`, { cause: error })
  }

  const statements = {
    get: db.prepare<[string], Row>('SELECT record FROM gatehouse_sessions WHERE id = ?'),
    getLive: db.prepare<[string, number], Row>('SELECT record FROM gatehouse_sessions WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)'),
    insert: db.prepare(
      `INSERT INTO gatehouse_sessions (id, user, provider_type, provider_name, created_at, expires_at, replaced, record)
       VALUES (@id, @user, @providerType, @providerName, @createdAt, @expiresAt, @replaced, @record)`,
    ),
    update: db.prepare('UPDATE gatehouse_sessions SET expires_at = @expiresAt, replaced = @replaced, record = @record WHERE id = @id'),
    liveOfUser: db.prepare<[string, number], Row>(
      'SELECT record FROM gatehouse_sessions WHERE user = ? AND replaced = 0 AND (expires_at IS NULL OR expires_at > ?)',
    ),
    remove: db.prepare<[string]>('DELETE FROM gatehouse_sessions WHERE id = ?'),
    removeExpired: db.prepare<[number, number]>(
      'DELETE FROM gatehouse_sessions WHERE id IN (SELECT id FROM gatehouse_sessions WHERE expires_at <= ? LIMIT ?)',
    ),
  }

  const params = (session: Session) => ({
    id: session.id,
    user: session.user,
    providerType: session.provider.type,
    providerName: session.provider.name,
    createdAt: session.createdAt,
    expiresAt: storeExpiry(session),
    replaced: session.graceUntil === undefined ? 0 : 1,
    record: JSON.stringify(session),
  })
  const parse = (row: Row | undefined): Session | null => (row ? (JSON.parse(row.record) as Session) : null)

  const removeIds = (ids: readonly string[]) => ids.reduce((count, id) => count + statements.remove.run(id).changes, 0)
  const insertWithLimit = db.transaction((session: Session, maxSessions: number | undefined, now: number) => {
    const evicted = maxSessions === undefined ? [] : sessionsToEvict(statements.liveOfUser.all(session.user, now).map((row) => parse(row)!), maxSessions)
    removeIds(evicted.map((old) => old.id))
    statements.insert.run(params(session))
    return evicted
  })
  const replace = db.transaction((previous: Session, next: Session) => {
    statements.update.run(params(previous))
    statements.insert.run(params(next))
  })
  const removeIdsAtomically = db.transaction(removeIds)

  const where = (filter: SessionFilter) => {
    const clauses: string[] = []
    const values: Record<string, string | number> = {}
    if (filter.user !== undefined) (clauses.push('user = @user'), (values.user = filter.user))
    if (filter.provider?.type !== undefined) (clauses.push('provider_type = @ptype'), (values.ptype = filter.provider.type))
    if (filter.provider?.name !== undefined) (clauses.push('provider_name = @pname'), (values.pname = filter.provider.name))
    return { clauses, values }
  }

  // better-sqlite3 is synchronous; every failure (closed db, I/O, busy) means the store is unusable right now.
  const guard = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work())
    } catch (error) {
      return Promise.reject(storeFailure('sqlite', error))
    }
  }

  return {
    kind: 'sqlite',
    getRecord: (id, now) => guard(() => parse(statements.getLive.get(id, now))),
    get: (id) => guard(() => parse(statements.get.get(id))),
    insert: (session, maxSessions, now) => guard(() => insertWithLimit.immediate(session, maxSessions, now)),
    update: (session) => guard(() => void statements.update.run(params(session))),
    replace: (previous, next) => guard(() => replace.immediate(previous, next)),
    remove: (ids) => guard(() => removeIdsAtomically.immediate(ids)),
    list: (query) =>
      guard(() => {
        const { clauses, values } = where(query)
        const after = decodeCursor(query.cursor)
        if (after) (clauses.push('(created_at > @afterCreated OR (created_at = @afterCreated AND id > @afterId))'), Object.assign(values, { afterCreated: after.createdAt, afterId: after.id }))
        const sql = `SELECT record FROM gatehouse_sessions ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT @limit`
        const rows = db.prepare<[Record<string, string | number>], Row>(sql).all({ ...values, limit: query.limit + 1 })
        const sessions = rows.slice(0, query.limit).map((row) => parse(row)!)
        const last = sessions.at(-1)
        return { sessions, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null }
      }),
    removeMatching: (filter) =>
      guard(() => {
        const { clauses, values } = where(filter)
        return db.prepare(`DELETE FROM gatehouse_sessions ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}`).run(values).changes
      }),
    removeExpired: (now, batchSize) => guard(() => statements.removeExpired.run(now, batchSize).changes),
    ping: () => guard(() => void db.prepare('SELECT 1').get()),
    close: async () => {
      if (db.open) db.close()
    },
  }
}
