import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Session } from '../../../src/session/session.js'
import type { RecordStore } from '../../../src/session/store/store.js'

const HOUR = 3600_000
// Real time: Redis turns expiries into TTLs against its own clock, so records must live in the present.
const T0 = Date.now() - 1000 * HOUR
let counter = 0

/** A record with a unique id; times relative to T0 unless given. */
export function record(overrides: Partial<Session> & { user?: string } = {}): Session {
  counter++
  const createdAt = overrides.createdAt ?? T0 + counter
  return {
    id: (counter.toString(16) + Math.random().toString(16).slice(2)).padEnd(64, '0').slice(0, 64),
    user: 'alice',
    roles: ['viewer'],
    provider: { type: 'form', name: 'form' },
    createdAt,
    lastSeen: createdAt,
    renewedAt: createdAt,
    idleExpiresAt: createdAt + 100 * 24 * HOUR,
    lifespanExpiresAt: null,
    client: { ip: '10.0.0.1', userAgent: 'test' },
    ...overrides,
  }
}

/**
 * The behaviour every server-side backend must share. `makeStore` gives a fresh, empty store
 * (its own prefix/table/file); `now` is the time used for expiry decisions.
 */
export function runStoreConformance(name: string, makeStore: () => Promise<RecordStore>, options: { skip?: () => Promise<false | string> } = {}): void {
  describe(`${name} store conformance`, async () => {
    const skip = options.skip ? await options.skip() : false
    let store: RecordStore
    before(async () => {
      if (!skip) store = await makeStore()
    })
    after(async () => {
      if (!skip) await store.close()
    })
    const now = T0 + 1000 * HOUR
    const it = (title: string, fn: () => Promise<void>) => test(title, { skip }, fn)

    it('inserted sessions are found by id with every field intact', async () => {
      const session = record({ user: `u-${counter}`, email: 'a@x', data: { jti: 'j1', exp: 5 } })
      await store.insert(session, undefined, now)
      assert.deepEqual(await store.getRecord(session.id, now), session)
      assert.deepEqual(await store.get(session.id), session)
      assert.equal(await store.getRecord('f'.repeat(64), now), null)
    })

    it('a record past its store expiry is not returned by getRecord', async () => {
      const session = record({ user: `u-${counter}`, idleExpiresAt: now + 5000 })
      await store.insert(session, undefined, now)
      assert.ok(await store.getRecord(session.id, now + 4999))
      assert.equal(await store.getRecord(session.id, now + 5000), null)
    })

    it('update overwrites last-seen and expiries; updating a removed record does not resurrect it', async () => {
      const session = record({ user: `u-${counter}` })
      await store.insert(session, undefined, now)
      await store.update({ ...session, lastSeen: now, idleExpiresAt: now + HOUR })
      const loaded = await store.getRecord(session.id, now)
      assert.equal(loaded?.lastSeen, now)
      assert.equal(loaded?.idleExpiresAt, now + HOUR)
      await store.remove([session.id])
      await store.update({ ...session, lastSeen: now + 1 })
      assert.equal(await store.get(session.id), null)
    })

    it('replace marks the old record with its grace period and inserts the new one', async () => {
      const user = `u-${counter}`
      const old = record({ user })
      await store.insert(old, undefined, now)
      const next = record({ user })
      await store.replace({ ...old, graceUntil: now + 10_000 }, next)
      assert.equal((await store.getRecord(old.id, now))?.graceUntil, now + 10_000)
      assert.equal(await store.getRecord(old.id, now + 10_000), null, 'gone once the grace period is over')
      assert.ok(await store.getRecord(next.id, now))
    })

    it('remove returns how many existed', async () => {
      const a = record({ user: `u-${counter}` })
      const b = record({ user: a.user })
      await store.insert(a, undefined, now)
      await store.insert(b, undefined, now)
      assert.equal(await store.remove([a.id, b.id, 'e'.repeat(64)]), 2)
      assert.equal(await store.remove([a.id]), 0)
      assert.equal(await store.getRecord(a.id, now), null)
    })

    it('max_sessions evicts the oldest live sessions of that user only, and returns them', async () => {
      const user = `u-${counter}`
      const other = record({ user: `other-${counter}` })
      await store.insert(other, undefined, now)
      const sessions = [0, 1, 2].map((i) => record({ user, createdAt: T0 + 10 * HOUR + i }))
      for (const s of sessions) await store.insert(s, 3, now)
      const fourth = record({ user, createdAt: T0 + 10 * HOUR + 3 })
      const evicted = await store.insert(fourth, 3, now)
      assert.deepEqual(evicted.map((s) => s.id), [sessions[0]!.id])
      assert.equal(await store.getRecord(sessions[0]!.id, now), null)
      assert.ok(await store.getRecord(sessions[1]!.id, now))
      assert.ok(await store.getRecord(other.id, now), 'other users are untouched')
      const page = await store.list({ user, limit: 10 })
      assert.equal(page.sessions.length, 3)
    })

    it('max_sessions ignores expired and replaced sessions when counting', async () => {
      const user = `u-${counter}`
      const expired = record({ user, idleExpiresAt: now - 1 })
      const replaced = record({ user, graceUntil: now + 5000 })
      const live = record({ user })
      for (const s of [expired, replaced, live]) await store.insert(s, undefined, now)
      const evicted = await store.insert(record({ user }), 2, now)
      assert.deepEqual(evicted, [], 'only one live session existed, so a second one fits')
      assert.ok(await store.getRecord(live.id, now))
    })

    it('20 concurrent logins of one user with max_sessions 3 leave exactly 3 live sessions', async () => {
      const user = `u-${counter}`
      const logins = Array.from({ length: 20 }, (_, i) => record({ user, createdAt: T0 + 20 * HOUR + i }))
      await Promise.all(logins.map((s) => store.insert(s, 3, now)))
      const alive = (await Promise.all(logins.map((s) => store.getRecord(s.id, now)))).filter(Boolean)
      assert.equal(alive.length, 3)
    })

    it('list filters by user and provider and pages with a keyset cursor, without gaps or duplicates', async () => {
      const user = `u-${counter}`
      const made: Session[] = []
      for (let i = 0; i < 7; i++) {
        const s = record({ user, createdAt: T0 + 30 * HOUR + (i % 3), provider: { type: i % 2 ? 'jwt' : 'form', name: i % 2 ? 'issuer' : 'form' } })
        made.push(s)
        await store.insert(s, undefined, now)
      }
      const seen: string[] = []
      let cursor: string | undefined
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.list({ user, limit: 3, cursor })
        assert.ok(page.sessions.length <= 3)
        seen.push(...page.sessions.map((s) => s.id))
        if (!page.nextCursor) break
        cursor = page.nextCursor
      }
      const expected = [...made].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map((s) => s.id)
      assert.deepEqual(seen, expected)
      const jwt = await store.list({ user, provider: { type: 'jwt' }, limit: 100 })
      assert.equal(jwt.sessions.length, 3)
      assert.ok(jwt.sessions.every((s) => s.provider.type === 'jwt'))
      const named = await store.list({ user, provider: { type: 'form', name: 'form' }, limit: 100 })
      assert.equal(named.sessions.length, 4)
    })

    it('removeMatching removes by user and provider and reports the count', async () => {
      const user = `u-${counter}`
      const a = record({ user, provider: { type: 'basic', name: 'basic' } })
      const b = record({ user })
      const c = record({ user: `${user}-x` })
      for (const s of [a, b, c]) await store.insert(s, undefined, now)
      assert.equal(await store.removeMatching({ user, provider: { type: 'basic' } }), 1)
      assert.equal(await store.getRecord(a.id, now), null)
      assert.ok(await store.getRecord(b.id, now))
      assert.equal(await store.removeMatching({ user }), 1)
      assert.ok(await store.getRecord(c.id, now))
    })

    it('removeExpired deletes expired records in bounded batches and keeps live ones', async () => {
      const user = `u-${counter}`
      const expired = Array.from({ length: 5 }, () => record({ user, idleExpiresAt: now - 10 }))
      const live = record({ user })
      for (const s of [...expired, live]) await store.insert(s, undefined, now)
      let total = 0
      for (let round = 0; round < 10; round++) {
        const removed = await store.removeExpired(now, 2)
        assert.ok(removed <= 2, 'batch bound respected')
        total += removed
        if (removed === 0) break
      }
      assert.ok(total >= 5)
      for (const s of expired) assert.equal(await store.get(s.id), null)
      assert.ok(await store.getRecord(live.id, now))
      const page = await store.list({ user, limit: 100 })
      assert.deepEqual(page.sessions.map((s) => s.id), [live.id], 'indexes no longer list removed sessions')
    })

    it('removeMatching with an empty filter removes everything', async () => {
      await store.insert(record({ user: `u-${counter}` }), undefined, now)
      assert.ok((await store.removeMatching({})) >= 1)
      assert.equal((await store.list({ limit: 10 })).sessions.length, 0)
    })

    it('ping answers', async () => {
      await store.ping()
    })
  })
}
