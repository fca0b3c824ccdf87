import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { evaluate, initialExpiries, sessionsToEvict, type SessionPolicy } from '../../src/session/policy.js'
import type { Session } from '../../src/session/session.js'

const MIN = 60_000
const policy: SessionPolicy = { idleTimeout: 30 * MIN, lifespan: 120 * MIN, rollingTimeout: 60 * MIN, touchInterval: MIN, rotationGrace: 10_000 }

function session(overrides: Partial<Session> = {}): Session {
  return { id: 'x', user: 'u', roles: [], provider: { type: 'form', name: 'form' }, createdAt: 0, lastSeen: 0, renewedAt: 0, idleExpiresAt: 30 * MIN, lifespanExpiresAt: 120 * MIN, client: {}, ...overrides }
}

describe('session policy', () => {
  test('valid until the idle expiry; touch only after touch_interval', () => {
    assert.deepEqual(evaluate(session(), 30_000, policy), { valid: true, touch: false, rotate: false })
    assert.deepEqual(evaluate(session(), MIN, policy), { valid: true, touch: true, rotate: false })
    assert.deepEqual(evaluate(session(), 30 * MIN, policy), { valid: false, reason: 'idle_timeout' })
  })

  test('lifespan wins over activity', () => {
    assert.deepEqual(evaluate(session({ idleExpiresAt: 500 * MIN }), 120 * MIN, policy), { valid: false, reason: 'lifespan' })
  })

  test('renewal is due rolling_timeout after the id was issued', () => {
    const s = session({ idleExpiresAt: 100 * MIN, lastSeen: 59 * MIN })
    assert.equal((evaluate(s, 59 * MIN, policy) as { rotate: boolean }).rotate, false)
    assert.equal((evaluate(s, 60 * MIN, policy) as { rotate: boolean }).rotate, true)
  })

  test('a replaced id is valid until graceUntil, never touched or renewed again', () => {
    const s = session({ graceUntil: 10_000, renewedAt: -100 * MIN })
    assert.deepEqual(evaluate(s, 9_999, policy), { valid: true, touch: false, rotate: false })
    assert.deepEqual(evaluate(s, 10_000, policy), { valid: false, reason: 'replaced' })
  })

  test('disabled timeouts (null) never expire and never touch', () => {
    const off: SessionPolicy = { ...policy, idleTimeout: null, lifespan: null, rollingTimeout: null }
    const s = session({ idleExpiresAt: null, lifespanExpiresAt: null })
    assert.deepEqual(evaluate(s, 1e12, off), { valid: true, touch: false, rotate: false })
    assert.deepEqual(initialExpiries(5, off), { idleExpiresAt: null, lifespanExpiresAt: null })
  })

  test('initialExpiries: lifespan capped by notAfter (a token exp)', () => {
    assert.deepEqual(initialExpiries(0, policy), { idleExpiresAt: 30 * MIN, lifespanExpiresAt: 120 * MIN })
    assert.deepEqual(initialExpiries(0, policy, 10 * MIN), { idleExpiresAt: 30 * MIN, lifespanExpiresAt: 10 * MIN })
    assert.deepEqual(initialExpiries(0, { ...policy, lifespan: null }, 10 * MIN), { idleExpiresAt: 30 * MIN, lifespanExpiresAt: 10 * MIN })
  })

  test('sessionsToEvict picks the oldest so that one more fits', () => {
    const list = [3, 1, 2].map((t) => ({ id: `s${t}`, createdAt: t }))
    assert.deepEqual(sessionsToEvict(list, undefined), [])
    assert.deepEqual(sessionsToEvict(list, 4), [])
    assert.deepEqual(sessionsToEvict(list, 3).map((s) => s.id), ['s1'])
    assert.deepEqual(sessionsToEvict(list, 1).map((s) => s.id), ['s1', 's2', 's3'])
  })
})
