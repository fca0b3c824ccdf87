import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { createSqliteStore } from '../../../src/session/store/sqlite.js'
import { runStoreConformance } from './conformance.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

// Two connections to one file, as two gateway processes sharing it would have.
runStoreConformance('sqlite', async () => createSqliteStore(join(dir, 'sessions.db')), { shared: true })
