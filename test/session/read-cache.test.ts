import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { deriveKeys } from '../../src/session/keys.js'
import type { Session } from '../../src/session/session.js'
import { createMemoryStore } from '../../src/session/store/memory.js'
import { createServerSideStore } from '../../src/session/store/server-side.js'
import type { RecordStore } from '../../src/session/store/store.js'

const keys = deriveKeys(['k'.repeat(32)], 'test')

function fields(now: number, user = 'alice'): Omit<Session, 'id'> {
  return { user, roles: [], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + 3600_000, lifespanExpiresAt: null, client: {} }
}

/** A memory backend that counts reads and lets the test fire invalidations. */
function countingRecords(): { records: RecordStore; reads: () => number; invalidate: (ids: readonly string[] | 'all') => void } {
  const inner = createMemoryStore()
  let reads = 0
  let listener: ((ids: readonly string[] | 'all') => void) | undefined
  const records: RecordStore = {
    ...inner,
    kind: 'redis',
    getRecord: (id, now) => (reads++, inner.getRecord(id, now)),
    onInvalidate: (l) => void (listener = l),
  }
  return { records, reads: () => reads, invalidate: (ids) => listener?.(ids) }
}

describe('read cache for network stores', () => {
  test('repeated loads within the TTL cost one backend read; after the TTL the backend is asked again', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 2000 })
    const { token } = await store.create(fields(clock.now()), { now: clock.now() })
    for (let i = 0; i < 10; i++) assert.ok(await store.load(token))
    assert.equal(backend.reads(), 1)
    clock.advance(2001)
    assert.ok(await store.load(token))
    assert.equal(backend.reads(), 2)
  })

  test('destroy in this process takes effect at once', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 60_000 })
    const { token, session } = await store.create(fields(clock.now()), { now: clock.now() })
    assert.ok(await store.load(token))
    await store.destroy(token, session)
    assert.equal(await store.load(token), null)
  })

  test('admin removal and eviction by max_sessions take effect at once', async () => {
    const clock = new ManualClock()
    const store = createServerSideStore(countingRecords().records, keys, clock, { cacheTtlMs: 60_000 })
    const first = await store.create(fields(clock.now()), { now: clock.now() })
    assert.ok(await store.load(first.token))
    clock.advance(1)
    const second = await store.create(fields(clock.now()), { maxSessions: 1, now: clock.now() })
    assert.equal(second.evicted.length, 1)
    assert.equal(await store.load(first.token), null, 'evicted session is not served from the cache')
    assert.ok(await store.load(second.token))
    assert.equal(await store.admin!.removeMatching({ user: 'alice' }), 1)
    assert.equal(await store.load(second.token), null)
  })

  test('an invalidation published by another process drops the entry', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 60_000 })
    const { token, session } = await store.create(fields(clock.now()), { now: clock.now() })
    assert.ok(await store.load(token))
    await backend.records.remove([session.id]) // as if another gateway removed it
    assert.ok(await store.load(token), 'still cached: nobody told this process')
    backend.invalidate([session.id])
    assert.equal(await store.load(token), null)
  })

  test('callers mutating a loaded session do not corrupt the cache', async () => {
    const clock = new ManualClock()
    const store = createServerSideStore(countingRecords().records, keys, clock, { cacheTtlMs: 60_000 })
    const { token } = await store.create(fields(clock.now()), { now: clock.now() })
    const loaded = await store.load(token)
    loaded!.session.lastSeen = 42
    assert.notEqual((await store.load(token))!.session.lastSeen, 42)
  })

  test('with TTL 0 there is no caching at all', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 0 })
    const { token } = await store.create(fields(clock.now()), { now: clock.now() })
    await store.load(token)
    await store.load(token)
    assert.equal(backend.reads(), 2)
  })

  test('a record read before an invalidation and stored after it is not cached (fill race)', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const getRecord = backend.records.getRecord
    let hold = false
    backend.records.getRecord = async (id, now) => {
      const session = await getRecord(id, now)
      if (hold) await gate
      return session
    }
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 60_000 })
    const { token, session } = await store.create(fields(clock.now()), { now: clock.now() })
    hold = true
    const slow = store.load(token) // read done, reply held back
    await new Promise((resolve) => setImmediate(resolve))
    await backend.records.remove([session.id]) // another process logs out…
    backend.invalidate([session.id]) // …and its invalidation arrives before the slow read ends
    release()
    assert.ok(await slow, 'the read in flight answers with what it read')
    hold = false
    assert.equal(await store.load(token), null, 'but it was not cached')
  })

  test('a backend whose invalidation channel is down (freshen false) is read every time', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    let up = true
    backend.records.freshen = () => up
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 60_000 })
    const { token } = await store.create(fields(clock.now()), { now: clock.now() })
    await store.load(token)
    await store.load(token)
    assert.equal(backend.reads(), 1)
    up = false
    await store.load(token)
    await store.load(token)
    assert.equal(backend.reads(), 3)
  })

  test('a forged or unknown cookie is never served, whatever was cached', async () => {
    const clock = new ManualClock()
    const backend = countingRecords()
    const store = createServerSideStore(backend.records, keys, clock, { cacheTtlMs: 60_000 })
    const { token } = await store.create(fields(clock.now()), { now: clock.now() })
    assert.ok(await store.load(token))
    // Not the last character: in base64url its low bits may be padding, and the value unchanged.
    const at = token.length - 5
    assert.equal(await store.load(token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)), null)
    assert.equal(await store.load(`x${token}`), null)
  })
})
