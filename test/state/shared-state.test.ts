import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import pg from 'pg'
import { createMemorySharedState } from '../../src/state/memory.js'
import { createPostgresSharedState } from '../../src/state/postgres.js'
import { createRedisSharedState } from '../../src/state/redis.js'
import type { SharedState } from '../../src/state/shared-state.js'
import { createSqliteSharedState } from '../../src/state/sqlite.js'
import { withDefaultUser } from '../../src/session/store/postgres.js'
import { DATABASE_URL, postgresSkip, REDIS_URL, redisSkip } from '../helpers/services.js'

// Real time: Redis expires keys by its own clock.
const now = () => Date.now()
const dir = mkdtempSync(join(tmpdir(), 'gh-state-'))
after(() => rmSync(dir, { recursive: true, force: true }))

interface Backend {
  name: string
  skip?: () => Promise<false | string>
  /** Each call opens another connection to the same data (another gateway process). */
  open(): Promise<SharedState>
  cleanUp?(): Promise<void>
}

const redisPrefix = `gh-state-test-${randomUUID().slice(0, 8)}:`
const pgTable = `gh_state_test_${randomUUID().slice(0, 8).replace(/-/g, '')}`
const memory = createMemorySharedState()
const backends: Backend[] = [
  { name: 'memory', open: async () => memory },
  { name: 'sqlite', open: async () => createSqliteSharedState(join(dir, 'state.db')) },
  {
    name: 'redis',
    skip: redisSkip,
    open: () => createRedisSharedState({ url: REDIS_URL, prefix: redisPrefix }),
    async cleanUp() {
      const { Redis } = await import('ioredis')
      const client = new Redis(REDIS_URL)
      const keys = await client.keys(`${redisPrefix}*`)
      if (keys.length) await client.del(...keys)
      client.disconnect()
    },
  },
  {
    name: 'postgres',
    skip: postgresSkip,
    open: () => createPostgresSharedState({ url: DATABASE_URL, table: pgTable }),
    async cleanUp() {
      const client = new pg.Client({ connectionString: withDefaultUser(DATABASE_URL) })
      await client.connect()
      await client.query(`DROP TABLE IF EXISTS ${pgTable}_state`)
      await client.end()
    },
  },
]

for (const backend of backends) {
  describe(`shared state: ${backend.name}`, async () => {
    const skip = backend.skip ? await backend.skip() : false
    const opened: SharedState[] = []
    const open = async () => {
      const state = await backend.open()
      opened.push(state)
      return state
    }
    after(async () => {
      for (const state of new Set(opened)) await state.close()
      await backend.cleanUp?.()
    })
    const key = (name: string) => `${name}:${randomUUID()}`

    test('counters count within their window and restart after it', { skip }, async () => {
      const state = await open()
      const k = key('count')
      const first = await state.increment(k, 300, now())
      assert.equal(first.count, 1)
      const second = await state.increment(k, 300, now())
      assert.equal(second.count, 2)
      // A fixed window: later hits do not push the reset further.
      assert.ok(Math.abs(second.resetAt - first.resetAt) <= 50, `${second.resetAt} vs ${first.resetAt}`)
      assert.equal((await state.count(k, now())).count, 2)
      assert.equal((await state.increment(k, 300, now(), 3)).count, 5)
      await new Promise((resolve) => setTimeout(resolve, 400))
      assert.equal((await state.count(k, now())).count, 0)
      assert.equal((await state.increment(k, 300, now())).count, 1)
    })

    test('parallel increments from two connections are all counted', { skip }, async () => {
      const [a, b] = [await open(), await open()]
      const k = key('race')
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment(k, 60_000, now())))
      assert.equal((await a.count(k, now())).count, 40)
      assert.equal((await b.count(k, now())).count, 40)
    })

    test('values: set, get, overwrite, delete, expiry', { skip }, async () => {
      const state = await open()
      const k = key('value')
      assert.equal(await state.get(k, now()), null)
      await state.set(k, 'one', 60_000, now())
      assert.equal(await state.get(k, now()), 'one')
      await state.set(k, 'two', 200, now())
      assert.equal(await state.get(k, now()), 'two')
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(await state.get(k, now()), null)
      await state.set(k, 'three', 60_000, now())
      await state.delete(k)
      assert.equal(await state.get(k, now()), null)
    })

    test('setIfAbsent: exactly one of many concurrent callers wins; an expired entry can be taken again', { skip }, async () => {
      const [a, b] = [await open(), await open()]
      const k = key('once')
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).setIfAbsent(k, `v${i}`, 250, now())))
      assert.equal(results.filter(Boolean).length, 1)
      await new Promise((resolve) => setTimeout(resolve, 350))
      assert.equal(await a.setIfAbsent(k, 'again', 60_000, now()), true)
      assert.equal(await b.get(k, now()), 'again')
    })

    test('removeExpired deletes only expired entries', { skip }, async () => {
      const state = await open()
      const live = key('live')
      const dead = key('dead')
      await state.set(live, 'x', 60_000, now())
      await state.set(dead, 'x', 1, now())
      await new Promise((resolve) => setTimeout(resolve, 20))
      await state.removeExpired(now())
      assert.equal(await state.get(live, now()), 'x')
      assert.equal(await state.get(dead, now()), null)
    })

    test('oversized keys and values are refused', { skip }, async () => {
      const state = await open()
      await assert.rejects(state.set('k'.repeat(600), 'x', 1000, now()), RangeError)
      await assert.rejects(state.set(key('big'), 'v'.repeat(70_000), 1000, now()), RangeError)
    })
  })
}
