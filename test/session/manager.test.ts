import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { createSessionEnds } from '../../src/session/ends.js'
import { deriveKeys } from '../../src/session/keys.js'
import { SessionManager, type FollowUsers } from '../../src/session/manager.js'
import { createMemorySharedState } from '../../src/state/memory.js'
import { createMemoryStore } from '../../src/session/store/memory.js'
import { createServerSideStore } from '../../src/session/store/server-side.js'

const HOUR = 3600_000
const alice = { user: 'alice', roles: ['a'], provider: { type: 'form', name: 'form' } }

function setup(options: { maxSessions?: number; follow?: FollowUsers } = {}) {
  const clock = new ManualClock()
  const records = createMemoryStore()
  const store = createServerSideStore(records, deriveKeys(['k'.repeat(32)], 'test'), clock)
  const manager = new SessionManager({
    store,
    clock,
    policy: { idleTimeout: 8 * HOUR, lifespan: 30 * 24 * HOUR, rollingTimeout: HOUR, touchInterval: 60_000, rotationGrace: 10_000 },
    maxSessions: options.maxSessions,
    ending: { ends: createSessionEnds(createMemorySharedState()), follow: options.follow },
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
    const page = await records.list({ user: 'alice', limit: 10, now: clock.now() })
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
    assert.deepEqual(await manager.resolve(token), { status: 'ended', reason: 'session_revoked' })
  })

  test('why a cookie no longer works: expired, evicted, revoked, or never issued', async () => {
    const { clock, records, manager } = setup({ maxSessions: 1 })
    const first = await manager.start(alice, {})
    const second = await manager.start(alice, {})
    assert.deepEqual(await manager.resolve(first.token), { status: 'ended', reason: 'session_evicted' })
    clock.advance(9 * HOUR)
    assert.deepEqual(await manager.resolve(second.token), { status: 'ended', reason: 'session_expired' }, 'idle timeout, record still there')
    const third = await manager.start(alice, {})
    clock.advance(9 * HOUR)
    assert.ok((await records.removeExpired(clock.now(), 100)) >= 1)
    assert.equal(await records.get(third.session.id), null)
    assert.deepEqual(await manager.resolve(third.token), { status: 'ended', reason: 'session_expired' }, 'removed by cleanup: still expired, not unknown')
    assert.deepEqual(await manager.resolve(`${third.token.slice(0, -3)}xyz`), { status: 'ended', reason: 'unknown_session' }, 'a forged signature')
    assert.deepEqual(await manager.resolve('garbage'), { status: 'ended', reason: 'unknown_session' })
  })

  test('readOnly resolves without touching or renewing', async () => {
    const { clock, records, manager } = setup()
    const { token, session } = await manager.start(alice, {})
    clock.advance(2 * HOUR)
    const read = await manager.resolve(token, { readOnly: true })
    assert.equal(read.status, 'valid')
    assert.equal(read.status === 'valid' && read.setToken, undefined)
    assert.deepEqual(await records.get(session.id), session, 'the record is untouched')
  })

  test('sessions follow the directory: new roles apply, a removed user ends (revoked)', async () => {
    let directory = new Map([['alice', ['a']]])
    const follow: FollowUsers = (s) => (directory.has(s.user) ? { ...s, roles: directory.get(s.user)! } : null)
    const { manager } = setup({ follow })
    const { token } = await manager.start(alice, {})
    directory = new Map([['alice', ['b', 'c']]])
    const now = await manager.resolve(token)
    assert.deepEqual(now.status === 'valid' && now.session.roles, ['b', 'c'])
    directory = new Map()
    assert.deepEqual(await manager.resolve(token), { status: 'ended', reason: 'session_revoked' })
    directory = new Map([['alice', ['a']]])
    assert.deepEqual(await manager.resolve(token), { status: 'ended', reason: 'session_revoked' }, 'adding the user back does not bring the session back')
  })
})
