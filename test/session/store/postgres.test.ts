import { after } from 'node:test'
import { createPostgresStore } from '../../../src/session/store/postgres.js'
import { DATABASE_URL, dropPostgresTable, postgresSkip, uniqueName } from '../../helpers/services.js'
import { runStoreConformance } from './conformance.js'

const table = uniqueName('gh_test')
after(async () => {
  if (!(await postgresSkip())) await dropPostgresTable(DATABASE_URL, table)
})

// Two pools on one table, as two gateway processes would have: the race case uses both.
runStoreConformance('postgres', () => createPostgresStore({ url: DATABASE_URL, table }), { skip: postgresSkip, shared: true })
