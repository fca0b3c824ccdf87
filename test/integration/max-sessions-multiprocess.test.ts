import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startEchoUpstream } from '../../src/demo/echo-upstream.js'
import { get, login, SECRET, testUsers, ALICE } from '../helpers/gateway.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/processes.js'
import { DATABASE_URL, dropPostgresTable, dropRedisPrefix, postgresSkip, REDIS_URL, redisSkip, uniqueName } from '../helpers/services.js'

const prefix = `${uniqueName('gh-mp')}:`
const table = uniqueName('gh_mp')
const backends = [
  { name: 'redis', skip: redisSkip, session: { storage: 'redis', redis: { url: REDIS_URL, prefix } }, drop: () => dropRedisPrefix(REDIS_URL, prefix) },
  { name: 'postgres', skip: postgresSkip, session: { storage: 'postgres', postgres: { url: DATABASE_URL, table } }, drop: () => dropPostgresTable(DATABASE_URL, table) },
]

for (const backend of backends) {
  describe(`max_sessions across two gateway processes sharing ${backend.name}`, async () => {
    const skip = await backend.skip()
    let upstream: Awaited<ReturnType<typeof startEchoUpstream>>
    let gateways: GatewayProcess[] = []
    const { session } = backend
    before(async () => {
      if (skip) return
      upstream = await startEchoUpstream()
      const config = { listen: '127.0.0.1:0', upstream: upstream.url, secrets: [SECRET], users: await testUsers(), log: { level: 'warn' }, session: { ...session, max_sessions: 2, cookie: { secure: false } } }
      gateways = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)])
    })
    after(async () => {
      if (skip) return
      await Promise.all(gateways.map((g) => g.stop()))
      await upstream.close()
      await backend.drop()
    })

    test('20 parallel logins of one user split over both processes leave exactly 2 valid sessions', { skip }, async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => login(gateways[i % 2]!.url, ALICE.username, ALICE.password)))
      assert.ok(results.every((r) => r.response.status === 200 && r.cookie))
      // Each cookie is checked on the *other* process too; the read caches must not keep evicted ones alive.
      let valid = 0
      for (const [i, r] of results.entries()) {
        const here = await get(gateways[i % 2]!.url, '/x', { cookie: r.cookie! })
        const there = await get(gateways[(i + 1) % 2]!.url, '/x', { cookie: r.cookie! })
        assert.equal(here.status, there.status, 'both processes agree')
        if (here.status === 200) valid++
        else assert.equal(here.status, 401)
      }
      assert.equal(valid, 2)
    })
  })
}
