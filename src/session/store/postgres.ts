import { createHash, randomUUID } from 'node:crypto'
import { userInfo } from 'node:os'
import pg from 'pg'
import { storeCall } from './failure.js'
import { sessionsToEvict } from '../policy.js'
import { storeExpiry, type Session } from '../session.js'
import { decodeCursor, encodeCursor } from './query.js'
import type { RecordStore, SessionFilter } from './store.js'

export interface PostgresStoreOptions {
  url?: string | undefined
  table: string
}

/** A notification names at most this many ids (payloads are limited to 8,000 bytes); more: 'all'. */
const NOTIFY_MAX_IDS = 60
const RECONNECT_MIN_MS = 250
const RECONNECT_MAX_MS = 5_000

/**
 * Sessions in a PostgreSQL table, created (with its indexes) at start. A per-user transaction
 * advisory lock serialises logins of one user across every gateway process, so `max_sessions`
 * holds even under concurrent logins.
 *
 * Read caches of other processes: every write that changes or removes an existing record runs
 * `pg_notify` in its own transaction (delivered at commit, never for a rolled-back write) on a
 * channel per table; each process LISTENs on one dedicated connection and evicts what others
 * changed. While that connection is down, notifications may be lost: `freshen()` is false, so
 * the cache is bypassed, and it is cleared when the connection is back. `cache_ttl` still bounds
 * every entry (the window between a commit and its delivery is the channel's latency).
 */
/** A pool for `session.postgres.url` (or DATABASE_URL) that fails fast while PostgreSQL is away. */
export function connectPostgres(url: string | undefined, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withDefaultUser(url ?? process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test'),
    max,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 5000,
    // Client side too: a server that vanished mid-query must give 503, not a request hung on TCP.
    query_timeout: 6000,
  })
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  return pool
}

export async function createPostgresStore(options: PostgresStoreOptions): Promise<RecordStore> {
  const table = options.table // validated by the config schema: [a-z_][a-z0-9_]*
  const pool = connectPostgres(options.url, 10)

  const call = <T>(work: () => Promise<T>): Promise<T> => storeCall('postgres', work)
  const inTransaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect()
    let failure: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      failure = error as Error
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      // After a failure the connection may be dead: discard it rather than pool it.
      client.release(failure)
    }
  }

  // Two gateways starting together must not race on CREATE TABLE.
  const migrate = () => call(() => inTransaction(async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('gatehouse-migrate:${table}'))`)
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${table} (
        id text COLLATE "C" PRIMARY KEY,
        username text NOT NULL,
        provider_type text NOT NULL,
        provider_name text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint,
        replaced boolean NOT NULL DEFAULT false,
        record text NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${table}_user ON ${table} (username, created_at);
      CREATE INDEX IF NOT EXISTS ${table}_expiry ON ${table} (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX IF NOT EXISTS ${table}_created ON ${table} (created_at, id);
    `)
  }))
  // Made at start when the server answers; otherwise by the first call that reaches it, so a
  // gateway started before its database runs (503, readyz failing) instead of exiting.
  let schema: Promise<void> | undefined
  const ready = () => (schema ??= migrate().catch((error: unknown) => ((schema = undefined), Promise.reject(error))))
  await ready().catch(() => undefined)
  const run = <T>(work: () => Promise<T>) =>
    call(async () => {
      await ready()
      return work()
    })
  const transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => run(() => inTransaction(work))

  const instance = randomUUID()
  const channel = `gatehouse_${createHash('sha256').update(table).digest('hex').slice(0, 24)}`
  /** In the writing transaction: tell the other processes' caches. */
  const notify = async (client: pg.PoolClient, ids: readonly string[] | 'all') => {
    if (ids !== 'all' && ids.length === 0) return
    const payload = JSON.stringify({ from: instance, ids: ids !== 'all' && ids.length > NOTIFY_MAX_IDS ? 'all' : ids })
    await client.query('SELECT pg_notify($1, $2)', [channel, payload])
  }
  let deliver: (ids: readonly string[] | 'all') => void = () => undefined
  let listening = false
  let closed = false
  let listenerClient: pg.Client | undefined
  let reconnect: NodeJS.Timeout | undefined
  const listen = (delay = RECONNECT_MIN_MS) => {
    if (closed) return
    const client = new pg.Client({ connectionString: withDefaultUser(options.url ?? process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test'), connectionTimeoutMillis: 2000 })
    listenerClient = client
    let lost = false
    const retry = () => {
      if (lost) return
      lost = true
      listening = false
      void client.end().catch(() => undefined)
      if (closed) return
      reconnect = setTimeout(() => listen(Math.min(RECONNECT_MAX_MS, delay * 2)), delay)
      reconnect.unref()
    }
    client.on('error', retry)
    client.on('end', retry)
    client.on('notification', (message) => {
      try {
        const { from, ids } = JSON.parse(message.payload ?? '') as { from: string; ids: string[] | 'all' }
        if (from !== instance) deliver(ids)
      } catch {
        deliver('all') // not understood: assume the worst
      }
    })
    client
      .connect()
      .then(() => client.query(`LISTEN ${channel}`))
      .then(() => {
        if (lost || closed) return
        // Whatever changed while no one listened is unknown: start from an empty cache.
        deliver('all')
        listening = true
        delay = RECONNECT_MIN_MS
      })
      .catch(retry)
  }

  // From the start, so the channel is up by the time a cache wants it (freshen() is false until then).
  listen()

  const row = (session: Session) => [session.id, session.user, session.provider.type, session.provider.name, session.createdAt, storeExpiry(session), session.graceUntil !== undefined, JSON.stringify(session)]
  const INSERT = `INSERT INTO ${table} (id, username, provider_type, provider_name, created_at, expires_at, replaced, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
  const UPDATE = `UPDATE ${table} SET expires_at = $6, replaced = $7, record = $8 WHERE id = $1 AND username = $2 AND provider_type = $3 AND provider_name = $4 AND created_at = $5`
  const parse = (rows: { record: string }[]): Session[] => rows.map((r) => JSON.parse(r.record) as Session)

  const where = (filter: SessionFilter, values: unknown[]) => {
    const clauses: string[] = []
    if (filter.user !== undefined) clauses.push(`username = $${values.push(filter.user)}`)
    if (filter.provider?.type !== undefined) clauses.push(`provider_type = $${values.push(filter.provider.type)}`)
    if (filter.provider?.name !== undefined) clauses.push(`provider_name = $${values.push(filter.provider.name)}`)
    return clauses
  }

  return {
    kind: 'postgres',
    getRecord: (id, now) =>
      run(async () => parse((await pool.query(`SELECT record FROM ${table} WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`, [id, now])).rows)[0] ?? null),
    get: (id) => run(async () => parse((await pool.query(`SELECT record FROM ${table} WHERE id = $1`, [id])).rows)[0] ?? null),
    insert: (session, maxSessions, now) =>
      transaction(async (client) => {
        let evicted: Session[] = []
        if (maxSessions !== undefined) {
          await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`gatehouse:${table}:${session.user}`])
          const live = parse((await client.query(`SELECT record FROM ${table} WHERE username = $1 AND NOT replaced AND (expires_at IS NULL OR expires_at > $2)`, [session.user, now])).rows)
          evicted = sessionsToEvict(live, maxSessions)
          if (evicted.length > 0) {
            await client.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [evicted.map((s) => s.id)])
            await notify(client, evicted.map((s) => s.id))
          }
        }
        await client.query(INSERT, row(session))
        return evicted
      }),
    update: (session) =>
      transaction(async (client) => {
        if ((await client.query(UPDATE, row(session))).rowCount) await notify(client, [session.id])
      }),
    replace: (previous, next) =>
      transaction(async (client) => {
        if ((await client.query(UPDATE, row(previous))).rowCount) await notify(client, [previous.id])
        await client.query(INSERT, row(next))
      }),
    remove: (ids) =>
      ids.length === 0
        ? Promise.resolve(0)
        : transaction(async (client) => {
            const removed = (await client.query<{ id: string }>(`DELETE FROM ${table} WHERE id = ANY($1) RETURNING id`, [ids])).rows.map((r) => r.id)
            await notify(client, removed)
            return removed.length
          }),
    list: (query) =>
      run(async () => {
        const values: unknown[] = []
        const clauses = where(query, values)
        const after = decodeCursor(query.cursor)
        // Byte order for ids, as in every other store, whatever the database's default collation.
        if (after) clauses.push(`(created_at, id COLLATE "C") > ($${values.push(after.createdAt)}, $${values.push(after.id)})`)
        const sql = `SELECT record FROM ${table} ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY created_at, id COLLATE "C" LIMIT $${values.push(query.limit + 1)}`
        const rows = parse((await pool.query(sql, values)).rows)
        const sessions = rows.slice(0, query.limit)
        const last = sessions.at(-1)
        return { sessions, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null }
      }),
    removeMatching: (filter) =>
      run(async () => {
        const values: unknown[] = []
        const clauses = where(filter, values)
        return inTransaction(async (client) => {
          const removed = (await client.query(`DELETE FROM ${table} ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}`, values)).rowCount ?? 0
          if (removed > 0) await notify(client, 'all')
          return removed
        })
      }),
    removeExpired: (now, batchSize) =>
      run(async () => (await pool.query(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE expires_at <= $1 LIMIT $2)`, [now, batchSize])).rowCount ?? 0),
    onInvalidate(listener) {
      deliver = listener
    },
    freshen: () => listening,
    ping: () => run(async () => void (await pool.query('SELECT 1'))),
    close: async () => {
      closed = true
      listening = false
      clearTimeout(reconnect)
      await listenerClient?.end().catch(() => undefined)
      await pool.end()
    },
  }
}

/**
 * libpq falls back to the OS user when the URL names none; pg only reads $USER, which service
 * managers and CI often leave unset, and then fails with "no PostgreSQL user name specified".
 */
export function withDefaultUser(connectionString: string): string {
  try {
    const url = new URL(connectionString)
    if (url.username) return connectionString
    url.username = process.env.PGUSER || process.env.USER || userInfo().username
    return url.toString()
  } catch {
    return connectionString
  }
}
