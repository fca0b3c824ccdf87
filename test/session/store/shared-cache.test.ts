import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { systemClock } from '../../../src/clock.js'
import { deriveKeys } from '../../../src/session/keys.js'
import type { Session } from '../../../src/session/session.js'
import { createServerSideStore } from '../../../src/session/store/server-side.js'
import { createSqliteStore } from '../../../src/session/store/sqlite.js'
import type { RecordStore, SessionStore } from '../../../src/session/store/store.js'

const keys = deriveKeys(['k'.repeat(32)], 'shared-cache')
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-shared-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

export function fields(user = 'alice', now = Date.now()): Omit<Session, 'id'> {
  return { user, roles: ['viewer'], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + 3600_000, lifespanExpiresAt: null, client: {} }
}

/** Counts backend reads, to prove a load was served from the cache. */
function counting(records: RecordStore): { records: RecordStore; reads: () => number } {
  let reads = 0
  const getRecord = records.getRecord.bind(records)
  records.getRecord = (id, now) => (reads++, getRecord(id, now))
  return { records, reads: () => reads }
}

/**
 * Two gateway processes sharing one backend, as two SessionStores with their own connections
 * and long-lived read caches: what one does must be seen by the other's next load.
 * `settle` waits for asynchronous invalidations (pub/sub) where the backend has them.
 */
export function runSharedCacheCases(name: string, open: () => Promise<RecordStore>, settle: (check: () => Promise<boolean>) => Promise<void> = async () => undefined, skip: false | string = false): void {
  describe(`${name}: read caches of two processes sharing the store`, () => {
    const pair = async () => {
      const a = counting(await open())
      const b = counting(await open())
      const stores: [SessionStore, SessionStore] = [createServerSideStore(a.records, keys, systemClock, { cacheTtlMs: 600_000 }), createServerSideStore(b.records, keys, systemClock, { cacheTtlMs: 600_000 })]
      return { a: stores[0], b: stores[1], readsB: b.reads, close: () => Promise.all(stores.map((s) => s.close())) }
    }
    /** B's load of `token` returns null (after `settle`, for asynchronous channels). */
    const goneOn = async (store: SessionStore, token: string) => {
      await settle(async () => (await store.load(token)) === null)
      assert.equal(await store.load(token), null)
    }

    test('B serves a known cookie from its cache; a logout on A is effective on B', { skip }, async () => {
      const { a, b, readsB, close } = await pair()
      try {
        const { token, session } = await a.create(fields(`logout-${Date.now()}`), { now: Date.now() })
        assert.ok(await b.load(token))
        const reads = readsB()
        for (let i = 0; i < 5; i++) assert.ok(await b.load(token))
        assert.equal(readsB(), reads, 'cached on B: no backend read')
        await a.destroy(token, session)
        await goneOn(b, token)
      } finally {
        await close()
      }
    })

    test('admin remove and removeMatching on A are effective on B', { skip }, async () => {
      const { a, b, close } = await pair()
      try {
        const user = `admin-${Date.now()}`
        const one = await a.create(fields(user), { now: Date.now() })
        const two = await a.create(fields(user), { now: Date.now() })
        assert.ok(await b.load(one.token))
        assert.ok(await b.load(two.token))
        assert.equal(await a.admin!.remove([one.session.id]), 1)
        await goneOn(b, one.token)
        assert.ok(await b.load(two.token))
        assert.equal(await a.admin!.removeMatching({ user }), 1)
        await goneOn(b, two.token)
      } finally {
        await close()
      }
    })

    test('max_sessions eviction by a login on A is effective on B, and the limit holds across both', { skip }, async () => {
      const { a, b, close } = await pair()
      try {
        const user = `evict-${Date.now()}`
        const first = await a.create(fields(user, Date.now() - 10), { maxSessions: 2, now: Date.now() })
        assert.ok(await b.load(first.token))
        await b.create(fields(user, Date.now() - 5), { maxSessions: 2, now: Date.now() })
        const third = await a.create(fields(user), { maxSessions: 2, now: Date.now() })
        assert.deepEqual(third.evicted.map((s) => s.id), [first.session.id])
        await goneOn(b, first.token)
        // Parallel logins through both processes: exactly max_sessions left.
        await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create(fields(user, Date.now() + i), { maxSessions: 2, now: Date.now() })))
        const live = (await a.admin!.list({ user, limit: 100, now: Date.now() })).sessions.filter((s) => s.graceUntil === undefined)
        assert.equal(live.length, 2)
      } finally {
        await close()
      }
    })

    test('renewal and touch on A are seen by B (grace period, new idle expiry)', { skip }, async () => {
      const { a, b, close } = await pair()
      try {
        const created = await a.create(fields(`renew-${Date.now()}`), { now: Date.now() })
        const cached = await b.load(created.token)
        assert.equal(cached!.session.graceUntil, undefined)
        const graceUntil = Date.now() + 10_000
        await a.rotate(created.token, created.session, fields(created.session.user), graceUntil)
        await settle(async () => (await b.load(created.token))?.session.graceUntil === graceUntil)
        assert.equal((await b.load(created.token))!.session.graceUntil, graceUntil)

        const other = await a.create(fields(`touch-${Date.now()}`), { now: Date.now() })
        assert.ok(await b.load(other.token))
        const touched = { ...other.session, lastSeen: other.session.lastSeen + 60_000, idleExpiresAt: other.session.idleExpiresAt! + 60_000 }
        await a.touch(other.token, touched)
        await settle(async () => (await b.load(other.token))?.session.lastSeen === touched.lastSeen)
        assert.equal((await b.load(other.token))!.session.idleExpiresAt, touched.idleExpiresAt)
      } finally {
        await close()
      }
    })
  })
}

runSharedCacheCases('sqlite', async () => createSqliteStore(join(dir, 'shared.db')))

describe('sqlite invalidation log', () => {
  test('a process that fell further behind than the log keeps drops its whole cache', async () => {
    const path = join(dir, `trim-${files++}.db`)
    const a = createServerSideStore(createSqliteStore(path, { logKeep: 20 }), keys, systemClock, { cacheTtlMs: 600_000 })
    const b = createServerSideStore(createSqliteStore(path, { logKeep: 20 }), keys, systemClock, { cacheTtlMs: 600_000 })
    try {
      const victim = await a.create(fields('victim'), { now: Date.now() })
      assert.ok(await b.load(victim.token))
      await a.destroy(victim.token, victim.session)
      // 60 more invalidations before B looks again: the entry naming the victim is trimmed.
      for (let i = 0; i < 60; i++) {
        const other = await a.create(fields(`filler-${i}`), { now: Date.now() })
        await a.destroy(other.token, other.session)
      }
      assert.equal(await b.load(victim.token), null)
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('writes that change nothing log nothing; cleanup of expired records logs nothing', async () => {
    const path = join(dir, `quiet-${files++}.db`)
    const records = createSqliteStore(path)
    const other = createSqliteStore(path)
    const seen: (readonly string[] | 'all')[] = []
    other.onInvalidate!((ids) => seen.push(ids))
    try {
      const now = Date.now()
      const session = { ...fields('quiet', now - 10_000), id: 'f'.repeat(64), idleExpiresAt: now - 1 }
      await records.insert(session, undefined, now)
      await records.remove(['e'.repeat(64)])
      await records.update({ ...session, id: 'd'.repeat(64) })
      assert.equal(await records.removeExpired(now, 10), 1)
      assert.equal(other.freshen!(), true)
      assert.deepEqual(seen, [])
      await records.remove(['c'.repeat(64)])
      await records.insert({ ...session, id: 'c'.repeat(64), idleExpiresAt: now + 1000 }, undefined, now)
      await records.remove(['c'.repeat(64)])
      other.freshen!()
      assert.deepEqual(seen, [['c'.repeat(64)]])
    } finally {
      await records.close()
      await other.close()
    }
  })
})

// Redis: invalidations travel by pub/sub, asynchronously. `settle` waits for them (at most 1 s)
// and records how long that took: the window during which another process may serve a stale entry.
const { createRedisStore } = await import('../../../src/session/store/redis.js')
const { REDIS_URL, dropRedisPrefix, redisSkip, uniqueName } = await import('../../helpers/services.js')
const redisPrefix = `${uniqueName('gh-shared')}:`
const windows: number[] = []
after(async () => {
  if (!(await redisSkip())) await dropRedisPrefix(REDIS_URL, redisPrefix)
  if (windows.length > 0) console.log(`# redis pub/sub invalidation window observed: max ${Math.max(...windows).toFixed(1)} ms over ${windows.length} waits`)
})
runSharedCacheCases(
  'redis',
  async () => {
    // A store's cache is trusted only once it is subscribed: wait for that, as for PostgreSQL.
    const store = await createRedisStore({ url: REDIS_URL, prefix: redisPrefix })
    const started = performance.now()
    while (!store.freshen!() && performance.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5))
    return store
  },
  async (check) => {
    const started = performance.now()
    while (!(await check()) && performance.now() - started < 1000) await new Promise((resolve) => setTimeout(resolve, 1))
    windows.push(performance.now() - started)
  },
  await redisSkip(),
)

// PostgreSQL: invalidations by LISTEN/NOTIFY (pg_notify in the writing transaction), asynchronous
// too. A store's cache is trusted only once its listening connection is up: `open` waits for it.
const { createPostgresStore } = await import('../../../src/session/store/postgres.js')
const { DATABASE_URL, dropPostgresTable, postgresSkip } = await import('../../helpers/services.js')
const pgTable = uniqueName('gh_shared')
const pgWindows: number[] = []
after(async () => {
  if (!(await postgresSkip())) await dropPostgresTable(DATABASE_URL, pgTable)
  if (pgWindows.length > 0) console.log(`# postgres LISTEN/NOTIFY invalidation window observed: max ${Math.max(...pgWindows).toFixed(1)} ms over ${pgWindows.length} waits`)
})
runSharedCacheCases(
  'postgres',
  async () => {
    const store = await createPostgresStore({ url: DATABASE_URL, table: pgTable })
    const started = performance.now()
    while (!store.freshen!() && performance.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5))
    return store
  },
  async (check) => {
    const started = performance.now()
    while (!(await check()) && performance.now() - started < 1000) await new Promise((resolve) => setTimeout(resolve, 1))
    pgWindows.push(performance.now() - started)
  },
  await postgresSkip(),
)
