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
