import pg from 'pg'
import { storeCall } from '../session/store/failure.js'
import { connectPostgres, type PostgresStoreOptions } from '../session/store/postgres.js'
import { checkEntry, type Counter, type SharedState } from './shared-state.js'

/**
 * A table `<session.postgres.table>_state` beside the sessions. Each operation is one statement
 * (INSERT … ON CONFLICT), atomic under concurrent gateways; expired rows count as absent and are
 * overwritten in the same statement, and cleanup deletes the rest.
 */
export async function createPostgresSharedState(options: PostgresStoreOptions): Promise<SharedState> {
  const table = `${options.table}_state` // the base name is validated by the config schema
  const pool = connectPostgres(options.url, 4)
  const call = <T>(work: () => Promise<T>) => storeCall('postgres', work)
  let ready: Promise<void> | undefined
  // Created on first use, so a gateway starts while PostgreSQL is away (503 until it answers).
  const ensureTable = () =>
    (ready ??= pool
      .query(`CREATE TABLE IF NOT EXISTS ${table} (key TEXT PRIMARY KEY, value TEXT NOT NULL DEFAULT '', count BIGINT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL);
              CREATE INDEX IF NOT EXISTS ${table}_expiry ON ${table} (expires_at)`)
      .then(() => undefined)
      .catch((error: unknown) => {
        ready = undefined
        // Two gateways creating the table at once: one loses the race on the catalog; the table exists.
        if ((error as { code?: string }).code === '23505') return
        throw error
      }))
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => {
    await ensureTable()
    return pool.query<R>(text, values)
  }
  return {
    kind: 'postgres',
    async increment(key, ttlMs, now, by = 1): Promise<Counter> {
      checkEntry(key)
      return call(async () => {
        const { rows } = await query<{ count: string; expires_at: string }>(
          `INSERT INTO ${table} AS s (key, count, expires_at) VALUES ($1, $2::bigint, $3::bigint + $4::bigint)
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN s.expires_at <= $3::bigint THEN $2::bigint ELSE s.count + $2::bigint END,
             expires_at = CASE WHEN s.expires_at <= $3::bigint THEN $3::bigint + $4::bigint ELSE s.expires_at END
           RETURNING count, expires_at`,
          [key, by, now, Math.ceil(ttlMs)],
        )
        return { count: Number(rows[0]!.count), resetAt: Number(rows[0]!.expires_at) }
      })
    },
    count(key, now) {
      return call(async () => {
        const { rows } = await query<{ count: string; expires_at: string }>(`SELECT count, expires_at FROM ${table} WHERE key = $1 AND expires_at > $2`, [key, now])
        return rows[0] ? { count: Number(rows[0].count), resetAt: Number(rows[0].expires_at) } : { count: 0, resetAt: now }
      })
    },
    get(key, now) {
      return call(async () => (await query<{ value: string }>(`SELECT value FROM ${table} WHERE key = $1 AND expires_at > $2`, [key, now])).rows[0]?.value ?? null)
    },
    async set(key, value, ttlMs, now) {
      checkEntry(key, value)
      await call(() =>
        query(
          `INSERT INTO ${table} (key, value, count, expires_at) VALUES ($1, $2, 0, $3)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at`,
          [key, value, now + Math.ceil(ttlMs)],
        ),
      )
    },
    async setIfAbsent(key, value, ttlMs, now) {
      checkEntry(key, value)
      return call(async () => {
        const result = await query(
          `INSERT INTO ${table} AS s (key, value, count, expires_at) VALUES ($1, $2, 0, $4)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, count = 0, expires_at = excluded.expires_at WHERE s.expires_at <= $3`,
          [key, value, now, now + Math.ceil(ttlMs)],
        )
        return result.rowCount === 1
      })
    },
    async delete(key) {
      await call(() => query(`DELETE FROM ${table} WHERE key = $1`, [key]))
    },
    removeExpired(now) {
      return call(async () => (await query(`DELETE FROM ${table} WHERE expires_at <= $1`, [now])).rowCount ?? 0)
    },
    async close() {
      await pool.end()
    },
  }
}
