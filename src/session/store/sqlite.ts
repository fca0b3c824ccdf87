import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreUnavailable } from '../../errors.js'
import { sessionsToEvict } from '../policy.js'
import { storeExpiry, type Session } from '../session.js'
import { decodeCursor, encodeCursor } from './query.js'
import { storeFailure } from './failure.js'
import { startMaintenance, type Maintenance } from './sqlite-maintenance.js'
import type { RecordStore, SessionFilter } from './store.js'

interface Row {
  id: Buffer
  record: string
}

/**
 * The table: keyed by `k`, the first 48 bits of the (random, sha256) id, as the rowid. A lookup
 * is then one descent of the table's own B-tree with integer keys, instead of one descent of a
 * text-keyed index and another of the table; among 1,000,000 sessions that is what keeps an
 * uncached read close to its cost among 1,000 (see bench/scale.ts). Two ids sharing those 48
 * bits (about one pair in 280 billion at 1,000,000 sessions) take the next free key within
 * K_WINDOW, so every read looks at `k BETWEEN key AND key + K_WINDOW - 1 AND id = ?`: still one
 * descent. The id itself is a 32-byte BLOB (byte order = the order of its lowercase hex), and the
 * record JSON does not repeat it. Deleting a row maintains three indexes, not four.
 */
const SCHEMA = `
  CREATE TABLE gatehouse_sessions (
    k INTEGER PRIMARY KEY,
    id BLOB NOT NULL,
    user TEXT NOT NULL,
    provider_type TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    replaced INTEGER NOT NULL DEFAULT 0,
    record TEXT NOT NULL
  );
  CREATE INDEX gatehouse_sessions_user ON gatehouse_sessions (user, created_at);
  CREATE INDEX gatehouse_sessions_expiry ON gatehouse_sessions (expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX gatehouse_sessions_created ON gatehouse_sessions (created_at, id);
`
const K_WINDOW = 16
/** How long a locked database is waited for, retrying every ≤ BUSY_RETRY_MAX_MS, off the event loop. */
const BUSY_WAIT_MS = 5_000
const BUSY_RETRY_MAX_MS = 4
const isBusy = (error: unknown) => typeof (error as { code?: unknown })?.code === 'string' && (error as { code: string }).code.startsWith('SQLITE_BUSY')
const HEX_ID = /^[0-9a-f]{64}$/

/** The 32-byte id and its key, or null for a string that no stored record can have. */
function idKey(id: string): { id: Buffer; k: number } | null {
  return HEX_ID.test(id) ? { id: Buffer.from(id, 'hex'), k: parseInt(id.slice(0, 12), 16) } : null
}

/**
 * Creates the table, or converts one written by an earlier version (id TEXT PRIMARY KEY, record
 * JSON with the id) in place: under the IMMEDIATE lock, so two gateways starting together
 * convert it once and no write is lost; every process's cache is told to drop everything.
 */
function migrate(db: Database.Database): void {
  const columns = () => db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('gatehouse_sessions')").all().map((c) => c.name)
  if (columns().includes('k')) return
  db.transaction(() => {
    const existing = columns()
    if (existing.includes('k')) return
    if (existing.length === 0) return void db.exec(SCHEMA)
    db.exec('ALTER TABLE gatehouse_sessions RENAME TO gatehouse_sessions_old')
    // Index names belong to the schema, not the table: free them for the new table's.
    for (const name of ['gatehouse_sessions_user', 'gatehouse_sessions_expiry', 'gatehouse_sessions_created']) db.exec(`DROP INDEX IF EXISTS ${name}`)
    db.exec(SCHEMA)
    const taken = db.prepare<[number, number], number>('SELECT k FROM gatehouse_sessions WHERE k BETWEEN ? AND ?').pluck()
    const insert = db.prepare('INSERT INTO gatehouse_sessions (k, id, user, provider_type, provider_name, created_at, expires_at, replaced, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    type Old = { rowid: number; id: string; user: string; provider_type: string; provider_name: string; created_at: number; expires_at: number | null; replaced: number; record: string }
    // In pages: better-sqlite3 cannot write while a read of the same connection is open.
    const page = db.prepare<[number], Old>('SELECT rowid, * FROM gatehouse_sessions_old WHERE rowid > ? ORDER BY rowid LIMIT 10000')
    for (let rows = page.all(0); rows.length > 0; rows = page.all(rows.at(-1)!.rowid)) {
      for (const row of rows) {
        const key = idKey(row.id)
        if (!key) continue // not an id this store ever issued
        const k = freeKey(key.k, taken.all(key.k, key.k + K_WINDOW - 1))
        if (k === undefined) continue
        const { id: _id, ...rest } = JSON.parse(row.record) as Session
        insert.run(k, key.id, row.user, row.provider_type, row.provider_name, row.created_at, row.expires_at, row.replaced, JSON.stringify(rest))
      }
    }
    db.exec('DROP TABLE gatehouse_sessions_old')
    db.prepare('INSERT INTO gatehouse_invalidations (id) VALUES (?)').run(ALL)
  }).immediate()
}

function freeKey(k: number, taken: readonly number[]): number | undefined {
  for (let slot = k; slot < k + K_WINDOW; slot++) if (!taken.includes(slot)) return slot
  return undefined
}

/** Invalidation log entries kept; a reader further behind than this drops its whole cache. */
const LOG_KEEP = 10_000
/** Trim the log every this many entries. */
const LOG_TRIM_EVERY = 1_000
/** At most this many log entries read at once; more means "drop the whole cache". */
const LOG_READ_MAX = 1_000
const ALL = '*'

/**
 * The embedded default: one SQLite file (WAL), so sessions survive a restart with no server
 * to run. Writes that must be atomic (max_sessions eviction, renewal) run in IMMEDIATE
 * transactions, which also serialise them across processes sharing the file.
 *
 * Exact read caches across processes sharing the file, without IPC: every write that changes
 * or removes an existing record (update, replace, remove, removeMatching, max_sessions
 * eviction) appends the ids to `gatehouse_invalidations` in the same transaction. `freshen()`
 * runs `PRAGMA data_version` (a counter in this connection that changes when another
 * connection commits; ~1 µs, no I/O when nothing changed) and, only when it moved, reads the
 * log entries after the last one seen and hands them to the cache. So a logout committed by
 * one process is seen by the very next `freshen()` of every other. The log keeps the last
 * LOG_KEEP entries; a reader that fell further behind drops its whole cache. Cleanup of
 * expired records logs nothing: an expired record is refused by the session policy anyway.
 */
/** Commits by every SQLite store of this process (see `freshen`). */
let writesInThisProcess = 0

export function createSqliteStore(path: string, options: { logKeep?: number; maintenance?: boolean } = {}): RecordStore {
  const logKeep = options.logKeep ?? LOG_KEEP
  const trimEvery = Math.min(LOG_TRIM_EVERY, logKeep)
  let db: Database.Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    db.pragma('synchronous = NORMAL')
    // Reads through a memory map (up to 1 GiB of the file) instead of a read() per page: an
    // uncached lookup among 1,000,000 sessions measured 11.5 → 5.6 µs. Address space, not heap.
    db.pragma('mmap_size = 1073741824')
    db.exec(`
      CREATE TABLE IF NOT EXISTS gatehouse_invalidations (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS gatehouse_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `)
    migrate(db)
    // From here on, a locked database is waited for asynchronously (see `guard`), never by
    // SQLite's busy handler, which sleeps on the event loop: a login arriving during a cleanup
    // batch or another process's write must not stall every request.
    db.pragma('busy_timeout = 0')
  } catch (error) {
    throw new StoreUnavailable(`cannot open the SQLite session store at ${path}: ${(error as Error).message}`, { cause: error })
  }

  const WINDOW = 'k BETWEEN @k AND @k + ' + (K_WINDOW - 1) + ' AND id = @id'
  const statements = {
    get: db.prepare<[{ k: number; id: Buffer }], string>(`SELECT record FROM gatehouse_sessions WHERE ${WINDOW}`).pluck(),
    getLive: db.prepare<[{ k: number; id: Buffer; now: number }], string>(`SELECT record FROM gatehouse_sessions WHERE ${WINDOW} AND (expires_at IS NULL OR expires_at > @now)`).pluck(),
    taken: db.prepare<[number, number], { k: number; id: Buffer }>('SELECT k, id FROM gatehouse_sessions WHERE k BETWEEN ? AND ?'),
    insert: db.prepare(
      `INSERT INTO gatehouse_sessions (k, id, user, provider_type, provider_name, created_at, expires_at, replaced, record)
       VALUES (@k, @id, @user, @providerType, @providerName, @createdAt, @expiresAt, @replaced, @record)`,
    ),
    update: db.prepare(`UPDATE gatehouse_sessions SET expires_at = @expiresAt, replaced = @replaced, record = @record WHERE ${WINDOW}`),
    liveOfUser: db.prepare<[string, number], Row>(
      'SELECT id, record FROM gatehouse_sessions WHERE user = ? AND replaced = 0 AND (expires_at IS NULL OR expires_at > ?)',
    ),
    remove: db.prepare<[{ k: number; id: Buffer }]>(`DELETE FROM gatehouse_sessions WHERE ${WINDOW}`),
    removeExpired: db.prepare<[number, number]>(
      'DELETE FROM gatehouse_sessions WHERE k IN (SELECT k FROM gatehouse_sessions WHERE expires_at <= ? LIMIT ?)',
    ),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    log: db.prepare<[string]>('INSERT INTO gatehouse_invalidations (id) VALUES (?)'),
    logAfter: db.prepare<[number, number], { seq: number; id: string }>('SELECT seq, id FROM gatehouse_invalidations WHERE seq > ? ORDER BY seq LIMIT ?'),
    lastSeq: db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM gatehouse_invalidations').pluck(),
    trimLog: db.prepare<[number]>('DELETE FROM gatehouse_invalidations WHERE seq <= ?'),
    trimmedThrough: db.prepare<[], number | undefined>("SELECT value FROM gatehouse_meta WHERE key = 'log_trimmed_through'").pluck(),
    setTrimmedThrough: db.prepare<[number]>("INSERT INTO gatehouse_meta (key, value) VALUES ('log_trimmed_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
  }

  // Deletion of expired records and WAL checkpoints off the event loop (a file only: a
  // ':memory:' database cannot be shared with a thread). Until the thread has its connection,
  // and again if it dies, this connection checkpoints automatically as SQLite does by default.
  let maintenance: Maintenance | undefined
  if (path !== ':memory:' && options.maintenance !== false) {
    const thread = startMaintenance(path, () => {
      if (db.open) db.pragma('wal_autocheckpoint = 1000')
    })
    maintenance = thread
    void thread.ready.then((ok) => {
      if (ok && thread.alive() && db.open) db.pragma('wal_autocheckpoint = 0')
    })
  }

  /** Inside a write transaction: tell the other processes' caches that `ids` changed. */
  const logInvalidation = (ids: readonly string[]) => {
    for (const id of ids) {
      const seq = Number(statements.log.run(id).lastInsertRowid)
      if (seq % trimEvery === 0 && seq > logKeep) {
        statements.trimLog.run(seq - logKeep)
        statements.setTrimmedThrough.run(seq - logKeep)
      }
    }
  }

  let listener: ((ids: readonly string[] | 'all') => void) | undefined
  let seenVersion = statements.dataVersion.get()!
  let seenSeq = statements.lastSeq.get()!
  // One snapshot for the reads, so a trim by another process cannot slip between them.
  const readLog = db.transaction((after: number): { ids: string[] | 'all'; last: number } => {
    if (after < (statements.trimmedThrough.get() ?? 0)) return { ids: 'all', last: statements.lastSeq.get()! }
    const rows = statements.logAfter.all(after, LOG_READ_MAX)
    const last = rows.at(-1)?.seq ?? after
    if (rows.length === LOG_READ_MAX || rows.some((row) => row.id === ALL)) return { ids: 'all', last: rows.length === LOG_READ_MAX ? statements.lastSeq.get()! : last }
    return { ids: rows.map((row) => row.id), last }
  })
  // Requests handled in one turn of the event loop arrived together: one `PRAGMA data_version`
  // answers for all of them (it was 7 % of the forward-auth profile when run per request). The
  // next turn checks again, so a commit by another process is still seen by the next request
  // that arrives after it.
  // Another store on the same file in this process (tests, a second gateway in one process) may
  // commit within the turn: its writes count in `writesInThisProcess` and end the shortcut.
  let checkedThisTurn = false
  let writesSeen = 0
  const nextTurn = () => (checkedThisTurn = false)
  const freshen = (): boolean => {
    if (checkedThisTurn && writesSeen === writesInThisProcess) return true
    try {
      const version = statements.dataVersion.get()!
      if (!checkedThisTurn) setImmediate(nextTurn)
      checkedThisTurn = true
      writesSeen = writesInThisProcess
      if (version === seenVersion) return true
      const { ids, last } = readLog.deferred(seenSeq)
      seenVersion = version
      seenSeq = last
      if (ids === 'all' || ids.length > 0) listener?.(ids)
      return true
    } catch {
      // Closed or unreadable: do not trust the cache; the store read that follows reports the failure.
      return false
    }
  }

  const params = (session: Session, k: number) => {
    const { id, ...rest } = session
    return {
      k,
      id: Buffer.from(id, 'hex'),
      user: session.user,
      providerType: session.provider.type,
      providerName: session.provider.name,
      createdAt: session.createdAt,
      expiresAt: storeExpiry(session),
      replaced: session.graceUntil === undefined ? 0 : 1,
      record: JSON.stringify(rest),
    }
  }
  const parse = (id: string, record: string | undefined): Session | null => (record === undefined ? null : { id, ...(JSON.parse(record) as Omit<Session, 'id'>) })
  const parseRow = (row: Row): Session => parse(row.id.toString('hex'), row.record)!
  /** Inside a write transaction: the key a new record takes (see K_WINDOW). */
  const keyFor = (id: string): number => {
    const key = idKey(id)
    if (!key) throw new TypeError(`not a session record id: ${id}`)
    const rows = statements.taken.all(key.k, key.k + K_WINDOW - 1)
    if (rows.some((row) => row.id.equals(key.id))) throw new Error('UNIQUE constraint failed: gatehouse_sessions.id')
    const k = freeKey(key.k, rows.map((row) => row.k))
    if (k === undefined) throw new Error('no free key for this session id')
    return k
  }
  const insertRecord = (session: Session) => statements.insert.run(params(session, keyFor(session.id)))
  /** Updates the record stored under the session's id; false when there is none. */
  const updateRecord = (session: Session): boolean => {
    const key = idKey(session.id)
    return key !== null && statements.update.run({ ...params(session, key.k), id: key.id }).changes > 0
  }
  const removeIds = (ids: readonly string[]) => {
    const removed = ids.filter((id) => {
      const key = idKey(id)
      return key !== null && statements.remove.run(key).changes > 0
    })
    logInvalidation(removed)
    return removed.length
  }
  const insertWithLimit = db.transaction((session: Session, maxSessions: number | undefined, now: number) => {
    const evicted = maxSessions === undefined ? [] : sessionsToEvict(statements.liveOfUser.all(session.user, now).map(parseRow), maxSessions)
    removeIds(evicted.map((old) => old.id))
    insertRecord(session)
    return evicted
  })
  const update = db.transaction((session: Session) => {
    if (updateRecord(session)) logInvalidation([session.id])
  })
  const replace = db.transaction((previous: Session, next: Session) => {
    if (updateRecord(previous)) logInvalidation([previous.id])
    insertRecord(next)
  })
  const removeIdsAtomically = db.transaction(removeIds)
  const removeMatching = db.transaction((sql: string, values: Record<string, string | number | Buffer>) => {
    const removed = db.prepare(sql).run(values).changes
    if (removed > 0) logInvalidation([ALL])
    return removed
  })

  const where = (filter: SessionFilter) => {
    const clauses: string[] = []
    const values: Record<string, string | number | Buffer> = {}
    if (filter.user !== undefined) (clauses.push('user = @user'), (values.user = filter.user))
    if (filter.provider?.type !== undefined) (clauses.push('provider_type = @ptype'), (values.ptype = filter.provider.type))
    if (filter.provider?.name !== undefined) (clauses.push('provider_name = @pname'), (values.pname = filter.provider.name))
    return { clauses, values }
  }

  // better-sqlite3 is synchronous. SQLITE_BUSY (another connection holds the write lock: a
  // cleanup batch, another process) is retried after a short timer, up to BUSY_WAIT_MS; any
  // other failure (closed db, I/O) means the store is unusable right now.
  const guard = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work())
    } catch (error) {
      if (!isBusy(error)) return Promise.reject(storeFailure('sqlite', error))
      return retryBusy(work)
    }
  }
  const write = <T>(work: () => T): Promise<T> =>
    guard(() => {
      const result = work()
      writesInThisProcess++
      return result
    })
  const retryBusy = async <T>(work: () => T): Promise<T> => {
    const deadline = Date.now() + BUSY_WAIT_MS
    for (let delay = 1; ; delay = Math.min(BUSY_RETRY_MAX_MS, delay * 2)) {
      await new Promise((resolve) => setTimeout(resolve, delay))
      try {
        return work()
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw storeFailure('sqlite', error)
      }
    }
  }

  return {
    kind: 'sqlite',
    getRecord: (id, now) =>
      guard(() => {
        const key = idKey(id)
        return key && parse(id, statements.getLive.get({ ...key, now }))
      }),
    get: (id) =>
      guard(() => {
        const key = idKey(id)
        return key && parse(id, statements.get.get(key))
      }),
    insert: (session, maxSessions, now) => write(() => insertWithLimit.immediate(session, maxSessions, now)),
    update: (session) => write(() => update.immediate(session)),
    replace: (previous, next) => write(() => replace.immediate(previous, next)),
    remove: (ids) => write(() => removeIdsAtomically.immediate(ids)),
    list: (query) =>
      guard(() => {
        const { clauses, values } = where(query)
        const after = decodeCursor(query.cursor)
        // A BLOB compares bytewise: the same order as the ids' lowercase hex.
        if (after) (clauses.push('(created_at > @afterCreated OR (created_at = @afterCreated AND id > @afterId))'), Object.assign(values, { afterCreated: after.createdAt, afterId: Buffer.from(after.id, 'hex') }))
        const sql = `SELECT id, record FROM gatehouse_sessions ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT @limit`
        const rows = db.prepare<[Record<string, string | number | Buffer>], Row>(sql).all({ ...values, limit: query.limit + 1 })
        const sessions = rows.slice(0, query.limit).map(parseRow)
        const last = sessions.at(-1)
        return { sessions, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null }
      }),
    removeMatching: (filter) =>
      write(() => {
        const { clauses, values } = where(filter)
        return removeMatching.immediate(`DELETE FROM gatehouse_sessions ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}`, values)
      }),
    // On the maintenance thread when it runs (see sqlite-maintenance.ts); here otherwise.
    removeExpired: (now, batchSize) => (maintenance?.alive() ? maintenance.removeExpired(now, batchSize).catch((error: unknown) => Promise.reject(storeFailure('sqlite', error))) : guard(() => statements.removeExpired.run(now, batchSize).changes)),
    removesOffThread: () => maintenance?.alive() ?? false,
    onInvalidate(l) {
      listener = l
    },
    freshen: () => db.open && freshen(),
    ping: () => guard(() => void db.prepare('SELECT 1').get()),
    close: async () => {
      await maintenance?.close()
      if (db.open) db.close()
    },
  }
}
