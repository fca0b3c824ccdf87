import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { StoreUnavailable } from '../errors.js'
import { checkEntry, type Counter, type SharedState } from './shared-state.js'

/** A write that finds the database locked (another process's write) is retried this long, asynchronously. */
const BUSY_RETRY_MS = 2_000

/**
 * A table in the same SQLite file as the sessions (or the file of `session.revocation`), opened
 * on its own connection: every process using the file sees the same counters at once (WAL).
 * Writes are one statement each, so each is atomic; a locked database is waited for off the
 * event loop, as the session store does.
 */
export function createSqliteSharedState(path: string): SharedState {
  let db: Database.Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 1000')
    db.pragma('synchronous = NORMAL')
    db.exec(`CREATE TABLE IF NOT EXISTS gatehouse_state (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL DEFAULT '',
      count INTEGER NOT NULL DEFAULT 0,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS gatehouse_state_expiry ON gatehouse_state (expires_at);`)
    db.pragma('busy_timeout = 0')
  } catch (error) {
    throw new StoreUnavailable(`cannot open the SQLite state at ${path}: ${(error as Error).message}`, { cause: error })
  }

  const statements = {
    // Expired rows are overwritten as if absent, in the same statement (atomic across processes).
    increment: db.prepare<{ key: string; by: number; now: number; expiresAt: number }, { count: number; expires_at: number }>(
      `INSERT INTO gatehouse_state (key, count, expires_at) VALUES (@key, @by, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN expires_at <= @now THEN @by ELSE count + @by END,
         expires_at = CASE WHEN expires_at <= @now THEN @expiresAt ELSE expires_at END
       RETURNING count, expires_at`,
    ),
    get: db.prepare<{ key: string; now: number }, { value: string; count: number; expires_at: number }>('SELECT value, count, expires_at FROM gatehouse_state WHERE key = @key AND expires_at > @now'),
    set: db.prepare<{ key: string; value: string; expiresAt: number }>(
      `INSERT INTO gatehouse_state (key, value, count, expires_at) VALUES (@key, @value, 0, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at`,
    ),
    setIfAbsent: db.prepare<{ key: string; value: string; now: number; expiresAt: number }>(
      `INSERT INTO gatehouse_state (key, value, count, expires_at) VALUES (@key, @value, 0, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at WHERE expires_at <= @now`,
    ),
    delete: db.prepare<[string]>('DELETE FROM gatehouse_state WHERE key = ?'),
    removeExpired: db.prepare<[number]>('DELETE FROM gatehouse_state WHERE expires_at <= ?'),
  }

  let closed = false
  const run = async <T>(work: () => T): Promise<T> => {
    const deadline = Date.now() + BUSY_RETRY_MS
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      if (closed) throw new StoreUnavailable('the SQLite state is closed')
      try {
        return work()
      } catch (error) {
        const code = (error as { code?: string }).code ?? ''
        if (!code.startsWith('SQLITE_BUSY') || Date.now() > deadline) throw new StoreUnavailable(`SQLite state failed: ${(error as Error).message}`, { cause: error })
      }
      await sleep(wait)
    }
  }

  return {
    kind: 'sqlite',
    async increment(key, ttlMs, now, by = 1): Promise<Counter> {
      checkEntry(key)
      return run(() => {
        const row = statements.increment.get({ key, by, now, expiresAt: now + ttlMs })!
        return { count: row.count, resetAt: row.expires_at }
      })
    },
    async count(key, now) {
      return run(() => {
        const row = statements.get.get({ key, now })
        return row ? { count: row.count, resetAt: row.expires_at } : { count: 0, resetAt: now }
      })
    },
    async get(key, now) {
      return run(() => statements.get.get({ key, now })?.value ?? null)
    },
    async set(key, value, ttlMs, now) {
      checkEntry(key, value)
      await run(() => statements.set.run({ key, value, expiresAt: now + ttlMs }))
    },
    async setIfAbsent(key, value, ttlMs, now) {
      checkEntry(key, value)
      return run(() => statements.setIfAbsent.run({ key, value, now, expiresAt: now + ttlMs }).changes === 1)
    },
    async delete(key) {
      await run(() => statements.delete.run(key))
    },
    async removeExpired(now) {
      return run(() => statements.removeExpired.run(now).changes)
    },
    async close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
