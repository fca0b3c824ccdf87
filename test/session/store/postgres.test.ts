import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { after } from 'node:test'
import { createPostgresStore, withDefaultUser } from '../../../src/session/store/postgres.js'
import { DATABASE_URL, postgresSkip } from '../../helpers/services.js'
import { runStoreConformance } from './conformance.js'

const table = `gh_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`
after(async () => {
  if (await postgresSkip()) return
  const client = new pg.Client({ connectionString: withDefaultUser(DATABASE_URL) })
  await client.connect()
  await client.query(`DROP TABLE IF EXISTS ${table}`)
  await client.end()
})

runStoreConformance('postgres', () => createPostgresStore({ url: DATABASE_URL, table }), { skip: postgresSkip })
