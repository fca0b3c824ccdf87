import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import Database from 'better-sqlite3'
import { createSqliteStore } from '../../../src/session/store/sqlite.js'
import { record } from './conformance.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-migrate-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** A session file as versions before the integer key wrote it. */
function writeOldFile(path: string, sessions: ReturnType<typeof record>[]): void {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.exec(`
    CREATE TABLE gatehouse_sessions (id TEXT PRIMARY KEY, user TEXT NOT NULL, provider_type TEXT NOT NULL, provider_name TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER, replaced INTEGER NOT NULL DEFAULT 0, record TEXT NOT NULL);
    CREATE INDEX gatehouse_sessions_user ON gatehouse_sessions (user, created_at);
    CREATE INDEX gatehouse_sessions_expiry ON gatehouse_sessions (expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX gatehouse_sessions_created ON gatehouse_sessions (created_at, id);
    CREATE TABLE gatehouse_invalidations (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL);
    CREATE TABLE gatehouse_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `)
  const insert = db.prepare('INSERT INTO gatehouse_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  for (const s of sessions) insert.run(s.id, s.user, s.provider.type, s.provider.name, s.createdAt, s.idleExpiresAt, s.graceUntil === undefined ? 0 : 1, JSON.stringify(s))
  db.close()
}

test('a file written with the old text-keyed table is converted in place at start, every record kept', async () => {
  const path = join(dir, 'old.db')
  // Two ids sharing their first 48 bits: the second takes the next key of the window.
  const twin = record()
  const sessions = [record({ user: 'bob' }), record({ graceUntil: Date.now() + 60_000 }), twin, { ...record(), id: twin.id.slice(0, 12) + 'f'.repeat(52) }]
  writeOldFile(path, sessions)
  const watcher = new Database(path, { readonly: true })
  const version = watcher.prepare('PRAGMA data_version').pluck()
  const before = version.get()
  // Two gateways starting together: the first converts under the IMMEDIATE lock, the second finds it done.
  const [a, b] = [createSqliteStore(path), createSqliteStore(path)]
  try {
    const columns = watcher.prepare<[], { name: string; type: string }>("SELECT name, type FROM pragma_table_info('gatehouse_sessions')").all()
    assert.deepEqual(columns.slice(0, 2), [{ name: 'k', type: 'INTEGER' }, { name: 'id', type: 'BLOB' }])
    assert.notEqual(version.get(), before, 'the conversion was committed')
    assert.equal(watcher.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'gatehouse_sessions_old'").pluck().get(), 0)
    for (const store of [a, b]) {
      for (const s of sessions) assert.deepEqual(await store.getRecord(s.id, s.createdAt), s)
      assert.deepEqual((await store.list({ limit: 10, now: 0 })).sessions.map((s) => s.id), [...sessions].sort((x, y) => x.createdAt - y.createdAt).map((s) => s.id))
      assert.deepEqual((await store.list({ limit: 10, user: 'bob', now: 0 })).sessions, [sessions[0]])
    }
    // Still writable both ways after the conversion, and removals reach the twin only.
    await a.remove([twin.id])
    assert.equal(await b.getRecord(twin.id, twin.createdAt), null)
    assert.deepEqual(await b.getRecord(sessions[3]!.id, twin.createdAt), sessions[3])
    const fresh = record()
    await b.insert(fresh, undefined, fresh.createdAt)
    assert.deepEqual(await a.get(fresh.id), fresh)
  } finally {
    watcher.close()
    await a.close()
    await b.close()
  }
  // Reopening converts nothing again.
  const again = createSqliteStore(path)
  assert.deepEqual(await again.get(sessions[0]!.id), sessions[0])
  await again.close()
})

test('ids that no stored record can have load as absent, without an error', async () => {
  const store = createSqliteStore(join(dir, 'junk.db'))
  try {
    for (const id of ['', 'nothex', 'A'.repeat(64), '0'.repeat(63)]) {
      assert.equal(await store.get(id), null)
      assert.equal(await store.getRecord(id, Date.now()), null)
      assert.equal(await store.remove([id]), 0)
    }
  } finally {
    await store.close()
  }
})
