import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { deriveKeys } from '../../src/session/keys.js'
import { SessionManager } from '../../src/session/manager.js'
import { createMemoryStore } from '../../src/session/store/memory.js'
import { createServerSideStore } from '../../src/session/store/server-side.js'

const HOUR = 3600_000
const alice = { user: 'alice', roles: ['a'], provider: { type: 'form', name: 'form' } }

function setup() {
  const clock = new ManualClock()
  const records = createMemoryStore()
  const store = createServerSideStore(records, deriveKeys(['k'.repeat(32)], 'test'), clock)
  const manager = new SessionManager({
    store,
    clock,
    policy: { idleTimeout: 8 * HOUR, lifespan: 30 * 24 * HOUR, rollingTimeout: HOUR, touchInterval: 60_000, rotationGrace: 10_000 },
  })
  return { clock, records, manager }
}

describe('session manager', () => {
  test('parallel requests that hit the rolling renewal share one new id (no orphan sessions)', async () => {
    const { clock, records, manager } = setup()
    const { token } = await manager.start(alice, {})
    clock.advance(HOUR)
    const results = await Promise.all(Array.from({ length: 5 }, () => manager.resolve(token)))
    const tokens = new Set(results.map((r) => (r.status === 'valid' ? r.setToken : undefined)))
    assert.equal(tokens.size, 1, 'one new token for all of them')
    assert.ok([...tokens][0])
    const page = await records.list({ user: 'alice', limit: 10 })
    assert.equal(page.sessions.length, 2, 'the renewed session and its predecessor in its grace period')
    assert.equal(page.sessions.filter((s) => s.graceUntil === undefined).length, 1)
  })

  test('a token notAfter caps the lifespan', async () => {
    const { clock, manager } = setup()
    const { session } = await manager.start({ ...alice, notAfter: clock.now() + 5 * 60_000 }, {})
    assert.equal(session.lifespanExpiresAt, clock.now() + 5 * 60_000)
  })

  test('ending a session makes its token unusable', async () => {
    const { manager } = setup()
    const { token } = await manager.start(alice, {})
    assert.equal((await manager.resolve(token)).status, 'valid')
    assert.equal((await manager.end(token))?.user, 'alice')
    assert.equal((await manager.resolve(token)).status, 'none')
  })
})
