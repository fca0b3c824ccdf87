import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import pg from 'pg'
import { withDefaultUser } from '../../src/session/store/postgres.js'
import { ALICE, get, login, startTestGateway } from '../helpers/gateway.js'
import { DATABASE_URL, dropRedisPrefix, postgresSkip, REDIS_URL, redisSkip } from '../helpers/services.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-storages-'))
const pgTable = `gh_it_${randomUUID().replace(/-/g, '').slice(0, 12)}`
const redisPrefix = `gh-it-${randomUUID()}:`
after(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (!(await redisSkip())) await dropRedisPrefix(REDIS_URL, redisPrefix)
  if (await postgresSkip()) return
  const client = new pg.Client({ connectionString: withDefaultUser(DATABASE_URL) })
  await client.connect()
  await client.query(`DROP TABLE IF EXISTS ${pgTable}`)
  await client.end()
})

const storages: { name: string; session: Record<string, unknown>; skip?: () => Promise<false | string> }[] = [
  { name: 'memory', session: { storage: 'memory' } },
  { name: 'sqlite', session: { storage: 'sqlite', sqlite: { path: join(dir, 's.db') } } },
  { name: 'redis', session: { storage: 'redis', redis: { url: REDIS_URL, prefix: redisPrefix } }, skip: redisSkip },
  { name: 'postgres', session: { storage: 'postgres', postgres: { url: DATABASE_URL, table: pgTable } }, skip: postgresSkip },
]

for (const storage of storages) {
  describe(`gateway on ${storage.name} storage`, async () => {
    const skip = storage.skip ? await storage.skip() : false
    test('login → proxied request with identity → whoami → logout → replay is 401', { skip }, async () => {
      const gw = await startTestGateway({ session: storage.session })
      try {
        const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
        assert.ok(cookie)
        assert.equal((await get(gw.url, '/app', { cookie: cookie! })).status, 200)
        assert.equal(gw.received.at(-1)!.headers['x-forwarded-user'], 'alice')
        assert.equal(gw.received.at(-1)!.headers.cookie, undefined)
        assert.equal(((await (await get(gw.url, '/_gatehouse/session', { cookie: cookie! })).json()) as { user: string }).user, 'alice')
        assert.equal((await fetch(`${gw.url}/_gatehouse/logout`, { method: 'DELETE', headers: { cookie: cookie! } })).status, 200)
        assert.equal((await get(gw.url, '/app', { cookie: cookie! })).status, 401)
        assert.equal((await get(gw.url, '/_gatehouse/readyz')).status, 200)
      } finally {
        await gw.close()
      }
    })

    test('idle timeout and lifespan are enforced with the injected clock', { skip }, async () => {
      const gw = await startTestGateway({ session: { ...storage.session, idle_timeout: '30m', lifespan: '2h', touch_interval: '1m', rolling_timeout: 0 } })
      try {
        const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
        gw.clock.advance(29 * 60_000)
        assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200, 'within the idle timeout; slides')
        gw.clock.advance(29 * 60_000)
        assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200, 'idle timer restarted at the last request')
        for (let i = 0; i < 3; i++) {
          gw.clock.advance(20 * 60_000)
          assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
        }
        gw.clock.advance(5 * 60_000) // 2h03m after login: lifespan over, whatever the activity
        assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)

        const second = await login(gw.url, ALICE.username, ALICE.password)
        gw.clock.advance(31 * 60_000)
        assert.equal((await get(gw.url, '/x', { cookie: second.cookie! })).status, 401, 'idle for 31 minutes')
      } finally {
        await gw.close()
      }
    })
  })
}
