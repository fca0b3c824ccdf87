import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { StoreUnavailable } from '../../../src/errors.js'
import { createPostgresStore } from '../../../src/session/store/postgres.js'
import { DATABASE_URL, dropPostgresTable, postgresSkip, tcpCut, uniqueName } from '../../helpers/services.js'
import { record, runStoreConformance } from './conformance.js'

const table = uniqueName('gh_test')
after(async () => {
  if (!(await postgresSkip())) await dropPostgresTable(DATABASE_URL, table)
})

// Two pools on one table, as two gateway processes would have: the race case uses both.
runStoreConformance('postgres', () => createPostgresStore({ url: DATABASE_URL, table }), { skip: postgresSkip, shared: true })

test('PostgreSQL away at start and mid-run: StoreUnavailable at once, then the same store recovers by itself', { skip: await postgresSkip() }, async () => {
  const database = new URL(DATABASE_URL)
  const link = await tcpCut({ host: database.hostname, port: Number(database.port || 5432) })
  const own = uniqueName('gh_cut')
  const via = new URL(DATABASE_URL)
  via.host = `127.0.0.1:${link.port}`
  const started = Date.now()
  const store = await createPostgresStore({ url: via.toString(), table: own })
  try {
    assert.ok(Date.now() - started < 2500, 'starts without its database')
    await assert.rejects(store.ping(), StoreUnavailable)
    await assert.rejects(store.getRecord('a'.repeat(64), Date.now()), StoreUnavailable)

    await link.restore()
    const session = record({ user: 'cut' })
    await store.insert(session, 2, Date.now())
    assert.ok(await store.getRecord(session.id, Date.now()), 'the table was created once the server answered')

    await link.cut()
    const down = Date.now()
    await assert.rejects(store.getRecord(session.id, Date.now()), StoreUnavailable)
    assert.ok(Date.now() - down < 2500, 'fails fast')
    await link.restore()
    assert.ok(await store.getRecord(session.id, Date.now()), 'the pool reconnected by itself')
  } finally {
    await link.cut()
    await store.close()
    await dropPostgresTable(DATABASE_URL, own)
  }
})

test('LISTEN connection down: freshen() is false (cache bypassed); back: the cache is cleared, so nothing missed meanwhile is served', { skip: await postgresSkip() }, async () => {
  const { createServerSideStore } = await import('../../../src/session/store/server-side.js')
  const { deriveKeys } = await import('../../../src/session/keys.js')
  const { systemClock } = await import('../../../src/clock.js')
  const database = new URL(DATABASE_URL)
  const link = await tcpCut({ host: database.hostname, port: Number(database.port || 5432) })
  await link.restore()
  const own = uniqueName('gh_listen')
  const via = new URL(DATABASE_URL)
  via.host = `127.0.0.1:${link.port}`
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  const keys = deriveKeys(['k'.repeat(32)], 'pg-listen')
  const direct = await createPostgresStore({ url: DATABASE_URL, table: own })
  const records = await createPostgresStore({ url: via.toString(), table: own })
  const b = createServerSideStore(records, keys, systemClock, { cacheTtlMs: 600_000 })
  const a = createServerSideStore(direct, keys, systemClock, { cacheTtlMs: 600_000 })
  try {
    await until(() => records.freshen!() && direct.freshen!(), 'both to listen')
    const now = Date.now()
    const created = await a.create({ user: 'listen', roles: [], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + 3600_000, lifespanExpiresAt: null, client: {} }, { now })
    assert.ok(await b.load(created.token), 'B caches the session')

    await link.cut()
    await until(() => !records.freshen!(), 'the listening connection to be seen down')
    await a.destroy(created.token, created.session) // B's notification is lost
    await assert.rejects(b.load(created.token), StoreUnavailable, 'cache bypassed: B goes to the (unreachable) store')

    await link.restore()
    await until(() => records.freshen!(), 'the listening connection to be back')
    assert.equal(await b.load(created.token), null, 'the logout made while B was not listening is effective')
  } finally {
    await link.cut()
    await a.close()
    await b.close()
    await dropPostgresTable(DATABASE_URL, own)
  }
})
