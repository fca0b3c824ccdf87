import { createHash, randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import pg from 'pg'
import type { SessionConfig } from '../config/schema.js'
import type { ChangeSignal } from './revocations.js'
import { connectPostgres, withDefaultUser } from './store/postgres.js'
import { connectRedis } from './store/redis.js'

export type SignalKind = 'memory' | 'sqlite' | 'redis' | 'postgres'

/** One process: every write goes through this process's Revocations, which drops its own cache. */
const inProcess: ChangeSignal = { changed: () => false, announce: async () => {}, close: async () => {} }

/**
 * How revocations made by other processes reach this one, on the backend they are stored in
 * (the same one SharedState uses: `session.revocation.storage` with cookie storage).
 */
export async function createChangeSignal(session: SessionConfig, kind: SignalKind): Promise<ChangeSignal> {
  switch (kind) {
    case 'memory':
      return inProcess
    case 'sqlite':
      return sqliteSignal(session.sqlite.path)
    case 'redis':
      return redisSignal(session.redis)
    case 'postgres':
      return postgresSignal(session.postgres)
  }
}

/** Revocations written by every SQLite signal's owner in this process (see sqliteSignal). */
let sqliteWritesInThisProcess = 0

/**
 * `PRAGMA data_version` on a connection of its own changes whenever another connection commits
 * to the file (~1 µs, no I/O otherwise): any write, so a change is then confirmed by reading the
 * generation counter. As the SQLite session store does, it is checked once per turn of the event
 * loop (requests of one turn arrived together), and again after a revocation written in this
 * process (another gateway in the same process, in tests), so a commit is still seen by the next
 * request that arrives after it.
 */
function sqliteSignal(path: string): ChangeSignal {
  if (path === ':memory:') return inProcess
  const db = new Database(path)
  const version = db.prepare<[], number>('PRAGMA data_version').pluck()
  let seen = version.get()
  let checkedThisTurn = false
  let writesSeen = sqliteWritesInThisProcess
  const nextTurn = () => (checkedThisTurn = false)
  return {
    changed() {
      if (checkedThisTurn && writesSeen === sqliteWritesInThisProcess) return false
      try {
        const now = version.get()
        if (!checkedThisTurn) setImmediate(nextTurn)
        checkedThisTurn = true
        writesSeen = sqliteWritesInThisProcess
        if (now === seen) return false
        seen = now
        return true
      } catch {
        return true
      }
    },
    announce: async () => void sqliteWritesInThisProcess++,
    close: async () => void (db.open && db.close()),
  }
}

/** A subscription on `<prefix>{gh}:revocations`; while it is not up, every check reads the counter. */
async function redisSignal(options: SessionConfig['redis']): Promise<ChangeSignal> {
  const channel = `${options.prefix}{gh}:revocations`
  const instance = randomUUID()
  const publisher = connectRedis(options)
  publisher.on('error', () => {})
  const subscriber = publisher.duplicate()
  subscriber.on('error', () => {})
  let subscribed = false
  let pending = true
  const subscribe = () =>
    void subscriber.subscribe(channel).then(
      () => ((subscribed = true), (pending = true)),
      () => undefined,
    )
  for (const event of ['close', 'end', 'reconnecting']) subscriber.on(event, () => (subscribed = false))
  subscriber.on('ready', subscribe)
  if (subscriber.status === 'ready') subscribe()
  subscriber.on('message', (_channel: string, from: string) => {
    if (from !== instance) pending = true
  })
  return {
    changed() {
      if (!subscribed) return true
      const was = pending
      pending = false
      return was
    },
    // The counter was written first: a gateway that misses this message (reconnecting) reads it anyway.
    announce: async () => void (await publisher.publish(channel, instance).catch(() => 0)),
    async close() {
      subscribed = false
      subscriber.disconnect()
      publisher.disconnect()
    },
  }
}

/** LISTEN on one connection of its own; NOTIFY after each write. */
async function postgresSignal(options: SessionConfig['postgres']): Promise<ChangeSignal> {
  const url = withDefaultUser(options.url ?? process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test')
  const channel = `gatehouse_rv_${createHash('sha256').update(options.table).digest('hex').slice(0, 24)}`
  const instance = randomUUID()
  const pool = connectPostgres(options.url, 1)
  let listening = false
  let pending = true
  let closed = false
  let client: pg.Client | undefined
  let timer: NodeJS.Timeout | undefined
  const listen = (delay = 250) => {
    if (closed) return
    const current = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    client = current
    let lost = false
    const retry = () => {
      if (lost) return
      lost = true
      listening = false
      void current.end().catch(() => undefined)
      if (closed) return
      timer = setTimeout(() => listen(Math.min(5_000, delay * 2)), delay)
      timer.unref()
    }
    current.on('error', retry)
    current.on('end', retry)
    current.on('notification', (message) => {
      if (message.payload !== instance) pending = true
    })
    current
      .connect()
      .then(() => current.query(`LISTEN ${channel}`))
      .then(() => {
        if (lost || closed) return
        listening = true
        pending = true
      })
      .catch(retry)
  }
  listen()
  return {
    changed() {
      if (!listening) return true
      const was = pending
      pending = false
      return was
    },
    announce: async () => void (await pool.query('SELECT pg_notify($1, $2)', [channel, instance]).catch(() => undefined)),
    async close() {
      closed = true
      listening = false
      clearTimeout(timer)
      await client?.end().catch(() => undefined)
      await pool.end()
    },
  }
}
