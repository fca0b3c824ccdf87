import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { createSqliteStore } from '../../../src/session/store/sqlite.js'
import { record } from './conformance.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-maint-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('a file store deletes expired records on its maintenance thread, in batches, keeping live ones', async () => {
  const store = createSqliteStore(join(dir, 'sessions.db'))
  try {
    const now = Date.now()
    const expired = Array.from({ length: 30 }, () => record({ idleExpiresAt: now - 1000, createdAt: now - 5000 }))
    const live = record({ idleExpiresAt: now + 60_000 })
    for (const s of [...expired, live]) await store.insert(s, undefined, s.createdAt)
    const deadline = Date.now() + 5_000
    while (!store.removesOffThread?.() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(store.removesOffThread?.(), true, 'the thread started')
    assert.equal(await store.removeExpired(now, 20), 20)
    assert.equal(await store.removeExpired(now, 20), 10)
    assert.equal(await store.removeExpired(now, 20), 0)
    assert.deepEqual(await store.get(live.id), live)
    assert.equal(await store.get(expired[0]!.id), null)
  } finally {
    await store.close()
  }
})

test('an in-memory store has no thread and deletes on the calling thread', async () => {
  const store = createSqliteStore(':memory:')
  try {
    const now = Date.now()
    await store.insert(record({ idleExpiresAt: now - 1000, createdAt: now - 5000 }), undefined, now - 5000)
    assert.equal(store.removesOffThread?.(), false)
    assert.equal(await store.removeExpired(now, 10), 1)
  } finally {
    await store.close()
  }
})

test('a write that finds the database locked waits for it without blocking the event loop', async () => {
  const path = join(dir, 'locked.db')
  const store = createSqliteStore(path, { maintenance: false })
  const { default: Database } = await import('better-sqlite3')
  const other = new Database(path)
  try {
    other.exec('BEGIN IMMEDIATE') // another connection holds the write lock
    const session = record()
    let ticks = 0
    const ticker = setInterval(() => ticks++, 5)
    const started = Date.now()
    const inserting = store.insert(session, undefined, session.createdAt)
    // (SQLite's own busy handler would sleep right here, on this thread, until its timeout.)
    await new Promise((resolve) => setTimeout(resolve, 100))
    other.exec('COMMIT')
    await inserting
    clearInterval(ticker)
    assert.ok(ticks >= 10, `timers ran meanwhile (${ticks})`)
    assert.ok(Date.now() - started >= 100)
    assert.deepEqual(await store.get(session.id), session)
  } finally {
    other.close()
    await store.close()
  }
})
