// Fail closed, then recover, against a private redis-server that this test kills and restarts
// (never the shared one on :6379). The gateway runs in-process so its log lines can be counted.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ALICE, get, login, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { freePort, redisServerSkip as skip, startPrivateRedis, stopProcess } from '../helpers/services.js'

async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.fail('condition not met in time')
}

const count = (gw: TestGateway, event: string) => gw.logs.filter((line) => line.includes(`"event":"${event}"`)).length
// cache_ttl 0: every request asks Redis, so the outage is seen at once rather than after the cache.
const redisSession = (port: number) => ({ session: { storage: 'redis', redis: { url: `redis://127.0.0.1:${port}`, prefix: 'outage:' }, cache_ttl: 0 } })

describe('Redis outage', () => {
  test('fails closed with 503 while Redis is down, logs it once, and recovers without a restart', { skip }, async () => {
    const port = await freePort()
    let redis = await startPrivateRedis(port)
    const gw = await startTestGateway(redisSession(port))
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      const reached = gw.received.length

      await stopProcess(redis)
      for (let i = 0; i < 5; i++) {
        const started = Date.now()
        const response = await get(gw.url, '/x', { cookie: cookie! })
        assert.equal(response.status, 503, 'never a pass, never anonymous, never a 500')
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
        assert.equal(((await response.json()) as { code: string }).code, 'ERR_STORE_UNAVAILABLE')
        assert.ok(Date.now() - started < 1500, 'answers within about a second, does not hang')
      }
      assert.equal((await login(gw.url, ALICE.username, ALICE.password)).response.status, 503)
      assert.equal((await get(gw.url, '/_gatehouse/readyz')).status, 503)
      assert.equal(gw.received.length, reached, 'nothing reached the upstream during the outage')
      assert.equal(count(gw, 'store_unavailable'), 1, 'logged once per incident, not per request')

      redis = await startPrivateRedis(port)
      await eventually(async () => (await get(gw.url, '/_gatehouse/readyz')).status === 200)
      // This Redis kept nothing on disk, so the old session is gone: a clean 401, then a new login works.
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)
      const again = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal(again.response.status, 200)
      assert.equal((await get(gw.url, '/x', { cookie: again.cookie! })).status, 200)
      assert.equal(count(gw, 'store_recovered'), 1)
      assert.equal(count(gw, 'store_unavailable'), 1)
    } finally {
      await gw.close()
      await stopProcess(redis)
    }
  })

  test('a Redis that hangs (SIGSTOP) gives 503 after the command timeout, then serves again on SIGCONT', { skip }, async () => {
    const port = await freePort()
    const redis = await startPrivateRedis(port)
    const gw = await startTestGateway(redisSession(port))
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      redis.kill('SIGSTOP')
      const started = Date.now()
      const response = await get(gw.url, '/x', { cookie: cookie! })
      assert.equal(response.status, 503)
      assert.ok(Date.now() - started < 2500, `no hang: ${Date.now() - started} ms`)
      redis.kill('SIGCONT')
      await eventually(async () => (await get(gw.url, '/x', { cookie: cookie! })).status === 200)
      assert.equal(count(gw, 'store_unavailable'), 1)
    } finally {
      redis.kill('SIGCONT')
      await gw.close()
      await stopProcess(redis)
    }
  })

  test('a gateway started while Redis is down starts fast, answers 503, and serves once Redis is up', { skip }, async () => {
    const port = await freePort()
    const started = Date.now()
    const gw = await startTestGateway(redisSession(port))
    let redis: Awaited<ReturnType<typeof startPrivateRedis>> | undefined
    try {
      assert.ok(Date.now() - started < 2000, 'a refused connection does not hold up the start')
      assert.equal((await get(gw.url, '/_gatehouse/readyz')).status, 503)
      assert.equal((await login(gw.url, ALICE.username, ALICE.password)).response.status, 503)
      assert.equal(count(gw, 'store_unavailable'), 1)

      redis = await startPrivateRedis(port)
      await eventually(async () => (await get(gw.url, '/_gatehouse/readyz')).status === 200)
      const { response, cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal(response.status, 200)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      assert.equal(count(gw, 'store_recovered'), 1)
    } finally {
      await gw.close()
      if (redis) await stopProcess(redis)
    }
  })
})
