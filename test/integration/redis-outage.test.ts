import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { describe, test } from 'node:test'
import { ALICE, get, login, startTestGateway } from '../helpers/gateway.js'

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0
const skip = hasRedisServer ? false : process.env.CI ? false : 'redis-server binary not installed; skipped outside CI'

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** A private redis-server, so stopping it never disturbs the shared one on :6379. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000)
    child.stdout!.on('data', (chunk) => {
      output += chunk
      if (output.includes('Ready to accept connections')) (clearTimeout(timer), resolve())
    })
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`redis-server exited ${code}: ${output}`))))
  })
  child.removeAllListeners('exit')
  return child
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGKILL'))))
}

async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.fail('condition not met in time')
}

describe('Redis outage', () => {
  test('fails closed with 503 while Redis is down, logs it once, and recovers without a restart', { skip }, async () => {
    const port = await freePort()
    let redis = await startRedis(port)
    const gw = await startTestGateway({ session: { storage: 'redis', redis: { url: `redis://127.0.0.1:${port}`, prefix: 'outage:' }, cache_ttl: 0 } })
    try {
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      const reached = gw.received.length

      await stop(redis)
      for (let i = 0; i < 5; i++) {
        const started = Date.now()
        const response = await get(gw.url, '/x', { cookie: cookie! })
        assert.equal(response.status, 503, 'never a pass, never a 500')
        assert.equal(((await response.json()) as { code: string }).code, 'ERR_STORE_UNAVAILABLE')
        assert.ok(Date.now() - started < 5000, 'answers quickly, does not hang')
      }
      assert.equal((await login(gw.url, ALICE.username, ALICE.password)).response.status, 503)
      assert.equal((await get(gw.url, '/_gatehouse/readyz')).status, 503)
      assert.equal(gw.received.length, reached, 'nothing reached the upstream during the outage')
      assert.equal(gw.logs.filter((l) => l.includes('"event":"store_unavailable"')).length, 1, 'logged once per incident')

      redis = await startRedis(port)
      await eventually(async () => (await get(gw.url, '/_gatehouse/readyz')).status === 200)
      // This Redis kept nothing on disk, so the old session is gone: a clean 401, then a new login works.
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 401)
      const again = await login(gw.url, ALICE.username, ALICE.password)
      assert.equal(again.response.status, 200)
      assert.equal((await get(gw.url, '/x', { cookie: again.cookie! })).status, 200)
      assert.equal(gw.logs.filter((l) => l.includes('"event":"store_recovered"')).length, 1)
    } finally {
      await gw.close()
      await stop(redis)
    }
  })
})
