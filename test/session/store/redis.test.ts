import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { StoreUnavailable } from '../../../src/errors.js'
import type { Session } from '../../../src/session/session.js'
import { createRedisStore } from '../../../src/session/store/redis.js'
import type { RecordStore } from '../../../src/session/store/store.js'
import { dropRedisPrefix, freePort, REDIS_URL, redisSkip, tcpCut } from '../../helpers/services.js'
import { record, runStoreConformance } from './conformance.js'

const prefix = `gh-test-${randomUUID()}:`
after(async () => {
  if (!(await redisSkip())) await dropRedisPrefix(REDIS_URL, prefix)
})

// Two clients on one prefix, as two gateway processes would have: the race case uses both.
runStoreConformance('redis', () => createRedisStore({ url: REDIS_URL, prefix }), { skip: redisSkip, shared: true })

describe('redis store: TTLs and index pruning', async () => {
  const skip = await redisSkip()
  const own = `gh-test-${randomUUID()}:`
  const key = (suffix: string) => `${own}{gh}:${suffix}`
  let store: RecordStore
  let redis: Redis
  before(async () => {
    if (skip) return
    store = await createRedisStore({ url: REDIS_URL, prefix: own })
    redis = new Redis(REDIS_URL)
  })
  after(async () => {
    if (skip) return
    await store.close()
    redis.disconnect()
    await dropRedisPrefix(REDIS_URL, own)
  })
  /** A record used right now (Redis TTLs run on the wall clock). */
  const fresh = (overrides: Partial<Session>) => record({ createdAt: Date.now(), lastSeen: Date.now(), ...overrides })

  test('keys get the TTL of the store expiry; a session without expiry gets none', { skip }, async () => {
    const now = Date.now()
    const timed = fresh({ user: 'ttl', idleExpiresAt: now + 3600_000 })
    const forever = fresh({ user: 'ttl', idleExpiresAt: null, lifespanExpiresAt: null })
    for (const s of [timed, forever]) await store.insert(s, undefined, now)
    const ttl = await redis.pttl(key(`s:${timed.id}`))
    assert.ok(ttl > 3590_000 && ttl <= 3600_000, `TTL ${ttl}`)
    assert.equal(await redis.pttl(key(`s:${forever.id}`)), -1)

    await store.update({ ...timed, lastSeen: Date.now(), idleExpiresAt: Date.now() + 7200_000 })
    assert.ok((await redis.pttl(key(`s:${timed.id}`))) > 7190_000, 'an update moves the TTL')
    const next = fresh({ user: 'ttl' })
    const graceUntil = Date.now() + 10_000
    await store.replace({ ...timed, graceUntil }, next)
    // Counted from its last use at the latest, never from later: a key may outlive, never undercut, its expiry.
    const graceTtl = await redis.pttl(key(`s:${timed.id}`))
    assert.ok(graceTtl > 9000 && graceTtl <= graceUntil - timed.lastSeen, `a replaced id lives for its grace period only (${graceTtl})`)
  })

  test('index entries of keys Redis expired are pruned by the next insert of that user and by removeExpired', { skip }, async () => {
    // The one test on Redis's real clock: two keys with a 300 ms TTL.
    const a = fresh({ user: 'prune-a', idleExpiresAt: Date.now() + 300 })
    const b = fresh({ user: 'prune-b', idleExpiresAt: Date.now() + 300 })
    for (const s of [a, b]) await store.insert(s, undefined, Date.now())
    for (let i = 0; i < 50 && (await redis.exists(key(`s:${a.id}`), key(`s:${b.id}`))) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await redis.exists(key(`s:${a.id}`), key(`s:${b.id}`)), 0, 'Redis expired both keys')
    assert.notEqual(await redis.zscore(key('u:prune-a'), a.id), null, 'Redis itself leaves the index entries behind')

    await store.insert(fresh({ user: 'prune-a' }), 5, Date.now())
    assert.equal(await redis.zscore(key('u:prune-a'), a.id), null, 'the insert pruned its user index')
    assert.equal(await redis.zscore(key('all'), a.id), null)
    assert.notEqual(await redis.zscore(key('all'), b.id), null)

    assert.equal(await store.removeExpired(Date.now(), 100), 1)
    assert.equal(await redis.exists(key('u:prune-b')), 0, 'an emptied user index disappears')
    assert.equal(await redis.zscore(key('all'), b.id), null)
    assert.equal(await redis.zscore(key('exp'), b.id), null)
    assert.equal(await redis.hget(key('owner'), b.id), null)
  })

  test('the next login prunes the user\'s expired index entries also without max_sessions (as the README says)', { skip }, async () => {
    const gone = fresh({ user: 'prune-c', idleExpiresAt: Date.now() + 200 })
    const kept = fresh({ user: 'prune-c', idleExpiresAt: Date.now() + 3600_000 })
    for (const s of [gone, kept]) await store.insert(s, undefined, Date.now())
    for (let i = 0; i < 50 && (await redis.exists(key(`s:${gone.id}`))) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await redis.exists(key(`s:${gone.id}`)), 0, 'Redis expired the key')
    const next = fresh({ user: 'prune-c' })
    await store.insert(next, undefined, Date.now())
    assert.equal(await redis.zscore(key('u:prune-c'), gone.id), null, 'pruned from the user index')
    assert.equal(await redis.zscore(key('all'), gone.id), null)
    assert.equal(await redis.hget(key('owner'), gone.id), null)
    assert.deepEqual((await redis.zrange(key('u:prune-c'), 0, -1)).sort(), [kept.id, next.id].sort(), 'live entries stay')
  })

  test('a gateway that started while Redis was away still hears other gateways\' invalidations once it is back', { skip }, async () => {
    const server = new URL(REDIS_URL)
    const link = await tcpCut({ host: server.hostname, port: Number(server.port || 6379) })
    const late = await createRedisStore({ url: `redis://127.0.0.1:${link.port}`, prefix: own })
    try {
      const heard: (readonly string[] | 'all')[] = []
      late.onInvalidate!((ids) => heard.push(ids))
      await link.restore()
      for (let i = 0; i < 100; i++) {
        // Published by the store that was up all along, until the late one's subscription is live.
        await store.remove([`${i}`.padStart(64, '0')])
        if (heard.length > 0) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      assert.ok(heard.length > 0, 'no invalidation reached the store that started without Redis')
    } finally {
      await late.close()
      await link.cut()
    }
  })

  test('an unreachable Redis fails fast with StoreUnavailable', async () => {
    const down = await createRedisStore({ url: `redis://127.0.0.1:${await freePort()}`, prefix: own })
    try {
      const started = Date.now()
      await assert.rejects(down.getRecord('a'.repeat(64), Date.now()), StoreUnavailable)
      await assert.rejects(down.insert(fresh({}), 2, Date.now()), StoreUnavailable)
      await assert.rejects(down.ping(), StoreUnavailable)
      assert.ok(Date.now() - started < 1000, 'no waiting for a reconnect')
    } finally {
      await down.close()
    }
  })
})

test('subscriber down: freshen() is false (cache bypassed); subscribed again: the cache is cleared, so nothing missed meanwhile is served', { skip: await redisSkip() }, async () => {
  const { createServerSideStore } = await import('../../../src/session/store/server-side.js')
  const { deriveKeys } = await import('../../../src/session/keys.js')
  const { systemClock } = await import('../../../src/clock.js')
  const target = new URL(REDIS_URL)
  const link = await tcpCut({ host: target.hostname, port: Number(target.port || 6379) })
  await link.restore()
  const via = new URL(REDIS_URL)
  via.host = `127.0.0.1:${link.port}`
  const own = `gh-sub-${randomUUID()}:`
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000
    while (!check()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
  const keys = deriveKeys(['k'.repeat(32)], 'redis-sub')
  const direct = await createRedisStore({ url: REDIS_URL, prefix: own })
  const records = await createRedisStore({ url: via.toString(), prefix: own })
  const a = createServerSideStore(direct, keys, systemClock, { cacheTtlMs: 600_000 })
  const b = createServerSideStore(records, keys, systemClock, { cacheTtlMs: 600_000 })
  try {
    await until(() => records.freshen!() && direct.freshen!(), 'both to be subscribed')
    const now = Date.now()
    const created = await a.create({ user: 'sub', roles: [], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + 3600_000, lifespanExpiresAt: null, client: {} }, { now })
    assert.ok(await b.load(created.token), 'B caches the session')

    await link.cut()
    await until(() => !records.freshen!(), 'the subscriber to be seen down')
    await a.destroy(created.token, created.session) // published while B cannot hear it
    await assert.rejects(b.load(created.token), StoreUnavailable, 'cache bypassed: B goes to the (unreachable) store')

    await link.restore()
    await until(() => records.freshen!(), 'the subscriber to be back')
    assert.equal(await b.load(created.token), null, 'the logout published while B was not subscribed is effective')
  } finally {
    await link.cut()
    await a.close()
    await b.close()
    await dropRedisPrefix(REDIS_URL, own)
  }
})
