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
