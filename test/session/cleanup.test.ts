import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/load.js'
import { startCleanup } from '../../src/session/cleanup.js'
import { deriveKeys } from '../../src/session/keys.js'
import { createMemoryStore } from '../../src/session/store/memory.js'
import { createServerSideStore } from '../../src/session/store/server-side.js'
import { createLogger } from '../../src/telemetry/logger.js'
import { startGateway } from '../../src/server/start.js'

function capture() {
  const lines: string[] = []
  return { lines, logger: createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) })) }
}

test('cleanup removes every expired session in bounded batches, keeps live ones, and logs the count', async () => {
  const clock = new ManualClock()
  const records = createMemoryStore()
  const store = createServerSideStore(records, deriveKeys(['k'.repeat(32)], 't'), clock)
  const now = clock.now()
  for (let i = 0; i < 1200; i++) {
    await store.create({ user: `u${i}`, roles: [], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: i < 1100 ? now + 1000 : now + 3600_000, lifespanExpiresAt: null, client: {} }, { now })
  }
  clock.advance(2000)
  const { lines, logger } = capture()
  const cleanup = startCleanup(store, 3600_000, clock, logger)
  try {
    assert.equal(await cleanup.runOnce(), 1100)
    assert.equal((await records.list({ limit: 5000, now: 0 })).sessions.length, 100)
    assert.match(lines.join(''), /"event":"session_cleanup","removed":1100/)
  } finally {
    cleanup.stop()
  }
})

test('with idle timeout and lifespan both disabled, start warns that the store can grow without bound', async () => {
  const { lines, logger } = capture()
  const config = parseConfig({ listen: '127.0.0.1:0', upstream: 'http://127.0.0.1:1', secrets: ['k'.repeat(32)], session: { storage: 'memory', idle_timeout: 0, lifespan: 0 } }, {})
  const gateway = await startGateway(config, { logger })
  await gateway.close()
  assert.match(lines.join(''), /"event":"unbounded_sessions"/)
})
