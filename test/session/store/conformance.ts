import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Session } from '../../../src/session/session.js'
import { compareSessions } from '../../../src/session/store/query.js'
import type { RecordStore, SessionQuery } from '../../../src/session/store/store.js'

const HOUR = 3600_000
const DAY = 24 * HOUR
// Real time: Redis turns expiries into TTLs against its own clock, so records must live in the present.
const T0 = Date.now() - 1000 * HOUR
let counter = 0
/** The suite's present: every record below lives (or expired) relative to it. */
const NOW = T0 + 1000 * HOUR

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
    idleExpiresAt: createdAt + 100 * DAY,
    lifespanExpiresAt: null,
    client: { ip: '10.0.0.1', userAgent: 'test' },
    ...overrides,
  }
}

export interface ConformanceOptions {
  /** Resolves to a skip message when the backend is absent (see test/helpers/services.ts). */
  skip?: () => Promise<false | string>
  /** Calling `makeStore` again opens a second connection to the same data (used for races). */
  shared?: boolean
}

/** Every page of a listing, following `nextCursor`; fails on a runaway cursor. */
async function listAll(store: RecordStore, query: Omit<SessionQuery, 'cursor' | 'now'> & { now?: number }): Promise<Session[]> {
  const seen: Session[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.list({ ...query, now: query.now ?? NOW, cursor })
    assert.ok(page.sessions.length <= query.limit, 'a page never exceeds the limit')
    seen.push(...page.sessions)
    if (!page.nextCursor) return seen
    cursor = page.nextCursor
  }
  assert.fail('cursor never ended')
}

const ids = (sessions: readonly Session[]) => sessions.map((s) => s.id)
const sorted = (sessions: readonly Session[]) => ids([...sessions].sort(compareSessions))

/**
 * The behaviour every server-side backend must share. `makeStore` gives a store on its own,
 * initially empty namespace (prefix, table or file); expiry decisions use `now`, not sleeps.
 */
export function runStoreConformance(name: string, makeStore: () => Promise<RecordStore>, options: ConformanceOptions = {}): void {
  describe(`${name} store conformance`, async () => {
    const skip = options.skip ? await options.skip() : false
    let store: RecordStore
    let peer: RecordStore | undefined
    before(async () => {
      if (skip) return
      store = await makeStore()
      if (options.shared) peer = await makeStore()
    })
    after(async () => {
      if (skip) return
      await peer?.close()
      await store?.close()
    })
    const now = NOW
    const it = (title: string, fn: () => Promise<void>) => test(title, { skip }, fn)

    it('inserted sessions are found by id with every field intact', async () => {
      const session = record({ user: `u-${counter}`, email: 'a@x', data: { jti: 'j1', exp: 5 } })
      await store.insert(session, undefined, now)
      assert.deepEqual(await store.getRecord(session.id, now), session)
      assert.deepEqual(await store.get(session.id), session)
      assert.equal(await store.getRecord('f'.repeat(64), now), null)
      assert.equal(await store.get('f'.repeat(64)), null)
    })

    it('a record past its store expiry is not returned by getRecord', async () => {
      const idle = record({ user: `u-${counter}`, idleExpiresAt: now + 5000 })
      const lifespan = record({ user: idle.user, idleExpiresAt: now + DAY, lifespanExpiresAt: now + 3000 })
      for (const s of [idle, lifespan]) await store.insert(s, undefined, now)
      assert.ok(await store.getRecord(idle.id, now + 4999))
      assert.equal(await store.getRecord(idle.id, now + 5000), null)
      assert.ok(await store.getRecord(lifespan.id, now + 2999))
      assert.equal(await store.getRecord(lifespan.id, now + 3000), null, 'the earliest expiry counts')
    })

    it('a record with no expiry at all is kept however late it is read', async () => {
      const forever = record({ user: `u-${counter}`, idleExpiresAt: null, lifespanExpiresAt: null })
      await store.insert(forever, undefined, now)
      assert.ok(await store.getRecord(forever.id, now + 3650 * DAY))
    })

    it('update overwrites last-seen and expiries; updating a removed record does not resurrect it', async () => {
      const session = record({ user: `u-${counter}` })
      await store.insert(session, undefined, now)
      await store.update({ ...session, lastSeen: now, idleExpiresAt: now + HOUR })
      const loaded = await store.getRecord(session.id, now)
      assert.equal(loaded?.lastSeen, now)
      assert.equal(loaded?.idleExpiresAt, now + HOUR)
      assert.equal(await store.getRecord(session.id, now + HOUR), null, 'the new idle expiry applies')
      await store.remove([session.id])
      await store.update({ ...session, lastSeen: now + 1 })
      assert.equal(await store.get(session.id), null)
      assert.deepEqual(ids(await listAll(store, { user: session.user, limit: 10 })), [], 'nor its index entries')
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

    it('replace writes nothing when the previous record was removed or already replaced (a logout racing a renewal)', async () => {
      const user = `u-${counter}`
      const gone = record({ user })
      await store.insert(gone, undefined, now)
      await store.remove([gone.id])
      const orphan = record({ user })
      assert.equal(await store.replace({ ...gone, graceUntil: now + 10_000 }, orphan), false)
      assert.equal(await store.get(orphan.id), null, 'no successor for a removed session')
      assert.equal(await store.get(gone.id), null, 'nor is the removed one brought back')
      const old = record({ user })
      await store.insert(old, undefined, now)
      const first = record({ user })
      assert.equal(await store.replace({ ...old, graceUntil: now + 10_000 }, first), true)
      const second = record({ user })
      assert.equal(await store.replace({ ...old, graceUntil: now + 20_000 }, second), false, 'a second renewal of the same id (another process) is refused')
      assert.equal(await store.get(second.id), null)
      assert.equal((await store.get(old.id))?.graceUntil, now + 10_000)
      assert.deepEqual(ids(await listAll(store, { user, limit: 10 })), sorted([old, first]))
    })

    it('the listing hides records past their store expiry (idle, lifespan, a renewed id after its grace)', async () => {
      const user = `u-${counter}`
      // The live ones first: a login prunes its user's expired index entries (Redis), and these must stay stored.
      const inGrace = record({ user, graceUntil: now + 5_000 })
      const live = record({ user })
      const forever = record({ user, idleExpiresAt: null, lifespanExpiresAt: null })
      const idle = record({ user, idleExpiresAt: now - 1 })
      const lifespan = record({ user: `${user}-l`, lifespanExpiresAt: now })
      const graceOver = record({ user: `${user}-g`, graceUntil: now - 1 })
      for (const s of [inGrace, live, forever, idle, lifespan, graceOver]) await store.insert(s, undefined, now)
      assert.deepEqual(ids(await listAll(store, { user, limit: 2 })), sorted([inGrace, live, forever]), 'only live records, on every page')
      assert.deepEqual(ids(await listAll(store, { user, limit: 10, now: now - 2 })), sorted([inGrace, live, forever, idle]), 'judged at the given time')
      for (const gone of [lifespan, graceOver]) {
        assert.deepEqual(await listAll(store, { user: gone.user, limit: 10 }), [])
        assert.deepEqual(ids(await listAll(store, { user: gone.user, limit: 10, now: now - 2 })), [gone.id])
      }
      const everyone = ids(await listAll(store, { limit: 1000 }))
      assert.ok(!everyone.includes(idle.id) && !everyone.includes(lifespan.id) && !everyone.includes(graceOver.id) && everyone.includes(live.id), 'also across users')
      assert.equal(await store.removeMatching({ user }), 4, 'removal still reaches the hidden ones')
    })

    it('a replaced session no longer counts toward max_sessions and is not the one evicted', async () => {
      const user = `u-${counter}`
      const first = record({ user, createdAt: T0 + 5 * HOUR })
      await store.insert(first, 2, now)
      const renewed = record({ user, createdAt: T0 + 5 * HOUR + 1 })
      await store.replace({ ...first, graceUntil: now + 10_000 }, renewed)
      const second = record({ user, createdAt: T0 + 5 * HOUR + 2 })
      assert.deepEqual(await store.insert(second, 2, now), [], 'renewed + second = 2 live, the replaced one is not counted')
      const third = record({ user, createdAt: T0 + 5 * HOUR + 3 })
      assert.deepEqual(ids(await store.insert(third, 2, now)), [renewed.id], 'the oldest live one goes, not the replaced one')
      assert.ok(await store.getRecord(first.id, now), 'the replaced id keeps its grace period')
    })

    it('remove returns how many existed', async () => {
      const a = record({ user: `u-${counter}` })
      const b = record({ user: a.user })
      await store.insert(a, undefined, now)
      await store.insert(b, undefined, now)
      assert.equal(await store.remove([]), 0)
      assert.equal(await store.remove([a.id, b.id, 'e'.repeat(64)]), 2)
      assert.equal(await store.remove([a.id]), 0)
      assert.equal(await store.getRecord(a.id, now), null)
      assert.deepEqual(await listAll(store, { user: a.user, limit: 10 }), [])
    })

    it('max_sessions evicts the oldest live sessions of that user only, and returns them', async () => {
      const user = `u-${counter}`
      const other = record({ user: `other-${counter}`, createdAt: T0 })
      await store.insert(other, undefined, now)
      // Inserted newest first: eviction goes by createdAt, not by insertion order.
      const sessions = [2, 1, 0].map((i) => record({ user, createdAt: T0 + 10 * HOUR + i }))
      for (const s of sessions) assert.deepEqual(await store.insert(s, 3, now), [])
      const fourth = record({ user, createdAt: T0 + 10 * HOUR + 3 })
      const evicted = await store.insert(fourth, 3, now)
      assert.deepEqual(ids(evicted), [sessions[2]!.id])
      assert.deepEqual(evicted[0], sessions[2], 'the evicted record comes back whole')
      assert.equal(await store.getRecord(sessions[2]!.id, now), null)
      assert.ok(await store.getRecord(sessions[1]!.id, now))
      assert.ok(await store.getRecord(other.id, now), 'other users are untouched')
      assert.deepEqual(ids(await listAll(store, { user, limit: 10 })), [sessions[1]!.id, sessions[0]!.id, fourth.id])
      const two = await store.insert(record({ user, createdAt: T0 + 10 * HOUR + 4 }), 2, now)
      assert.deepEqual(ids(two), [sessions[1]!.id, sessions[0]!.id], 'a lower limit evicts several, oldest first')
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
      assert.ok(await store.getRecord(replaced.id, now))
    })

    it('20 concurrent logins of one user with max_sessions 3 leave exactly 3 live sessions', async () => {
      const user = `u-${counter}`
      const writers = peer ? [store, peer] : [store]
      const logins = Array.from({ length: 20 }, (_, i) => record({ user, createdAt: T0 + 20 * HOUR + i }))
      const evicted = (await Promise.all(logins.map((s, i) => writers[i % writers.length]!.insert(s, 3, now)))).flat()
      const alive = (await Promise.all(logins.map((s) => store.getRecord(s.id, now)))).filter((s) => s !== null)
      assert.equal(alive.length, 3)
      assert.equal(evicted.length, 17, 'each eviction reported exactly once')
      assert.deepEqual(new Set([...ids(evicted), ...ids(alive)]), new Set(ids(logins)))
      assert.deepEqual(ids(await listAll(store, { user, limit: 10 })), sorted(alive), 'the user index agrees')
    })

    it('users are isolated, whatever characters their names contain', async () => {
      const users = [`iso-${counter}`, `iso-${counter}:x`, `iso-${counter}{tag}`, `iso-${counter} ü*?[`]
      const made = new Map<string, Session[]>()
      for (const user of users) {
        const mine = [record({ user }), record({ user })]
        made.set(user, mine)
        for (const s of mine) await store.insert(s, 1, now)
      }
      for (const user of users) {
        const listed = await listAll(store, { user, limit: 10 })
        assert.deepEqual(ids(listed), [made.get(user)![1]!.id], `${user} keeps only its newest`)
        assert.ok(listed.every((s) => s.user === user))
      }
      assert.equal(await store.removeMatching({ user: users[0] }), 1)
      for (const user of users.slice(1)) assert.equal((await listAll(store, { user, limit: 10 })).length, 1)
    })

    it('list filters by user and provider and pages with a keyset cursor, without gaps or duplicates', async () => {
      const user = `u-${counter}`
      const made: Session[] = []
      for (let i = 0; i < 7; i++) {
        const s = record({ user, createdAt: T0 + 30 * HOUR + (i % 3), provider: { type: i % 2 ? 'jwt' : 'form', name: i % 2 ? 'issuer' : 'form' } })
        made.push(s)
        await store.insert(s, undefined, now)
      }
      for (const limit of [1, 3, 7, 8]) assert.deepEqual(ids(await listAll(store, { user, limit })), sorted(made), `pages of ${limit}`)
      const jwt = await listAll(store, { user, provider: { type: 'jwt' }, limit: 2 })
      assert.deepEqual(ids(jwt), sorted(made.filter((s) => s.provider.type === 'jwt')))
      const named = await listAll(store, { user, provider: { type: 'form', name: 'form' }, limit: 100 })
      assert.equal(named.length, 4)
      assert.deepEqual(await listAll(store, { user, provider: { name: 'nobody' }, limit: 100 }), [])
    })

    it('listing across users pages through every session in (created_at, id) order', async () => {
      const provider = { type: 'pagetest', name: `p-${counter}` }
      const made = Array.from({ length: 9 }, (_, i) => record({ user: `pg-${counter}-${i % 4}`, provider, createdAt: T0 + 40 * HOUR + (i % 2) }))
      for (const s of made) await store.insert(s, undefined, now)
      assert.deepEqual(ids(await listAll(store, { provider, limit: 2 })), sorted(made))
      const everything = await listAll(store, { limit: 5 })
      assert.equal(new Set(ids(everything)).size, everything.length, 'no duplicates')
      assert.deepEqual(ids(everything), sorted(everything), 'in order')
      assert.ok(made.every((s) => ids(everything).includes(s.id)))
      assert.equal(await store.removeMatching({ provider }), made.length)
    })

    it('pages stay exact when hundreds of sessions share one created_at', async () => {
      const user = `ties-${counter}`
      const made = Array.from({ length: 250 }, () => record({ user, createdAt: T0 + 50 * HOUR }))
      for (const s of made) await store.insert(s, undefined, now)
      assert.deepEqual(ids(await listAll(store, { user, limit: 100 })), sorted(made))
      assert.equal(await store.removeMatching({ user }), 250)
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
      // Each expired one under its own user: a login prunes its user's expired entries (Redis) before cleanup would.
      const expired = Array.from({ length: 5 }, (_, i) => record({ user: `${user}-x${i}`, idleExpiresAt: now - 10 - i }))
      const graceOver = record({ user: `${user}-g`, graceUntil: now - 1 })
      const live = record({ user })
      for (const s of [...expired, graceOver, live]) await store.insert(s, undefined, now)
      let total = 0
      for (let round = 0; round < 20; round++) {
        const removed = await store.removeExpired(now, 2)
        assert.ok(removed <= 2, 'batch bound respected')
        total += removed
        if (removed === 0) break
      }
      assert.ok(total >= 6)
      for (const s of [...expired, graceOver]) assert.equal(await store.get(s.id), null)
      assert.ok(await store.getRecord(live.id, now))
      assert.deepEqual(ids(await listAll(store, { user, limit: 100 })), [live.id], 'indexes no longer list removed sessions')
    })

    it('removeExpired never removes a record without expiry', async () => {
      const forever = record({ user: `u-${counter}`, idleExpiresAt: null, lifespanExpiresAt: null })
      await store.insert(forever, undefined, now)
      const later = now + 3650 * DAY
      while ((await store.removeExpired(later, 500)) > 0);
      assert.ok(await store.getRecord(forever.id, later))
    })

    it('removeMatching with an empty filter removes everything', async () => {
      await store.insert(record({ user: `u-${counter}` }), undefined, now)
      assert.ok((await store.removeMatching({})) >= 1)
      assert.deepEqual(await listAll(store, { limit: 10 }), [])
    })

    it('ping answers', async () => {
      await store.ping()
    })
  })
}
