import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { parseConfig } from '../../src/config/load.js'
import { createChangeSignal } from '../../src/session/revocation-signal.js'
import { createRevocations, type ChangeSignal, type RevocationState } from '../../src/session/revocations.js'
import type { Session } from '../../src/session/session.js'
import { createMemorySharedState } from '../../src/state/memory.js'
import { createSqliteSharedState } from '../../src/state/sqlite.js'

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-revocations-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const NOW = 1_700_000_000_000

const session = (overrides: Partial<Session> = {}): Session => ({
  id: 'a'.repeat(64),
  user: 'alice',
  roles: [],
  provider: { type: 'form', name: 'form' },
  createdAt: NOW - 1000,
  lastSeen: NOW - 1000,
  renewedAt: NOW - 1000,
  idleExpiresAt: NOW + 3600_000,
  lifespanExpiresAt: NOW + 86_400_000,
  client: {},
  login: 'login-1',
  ...overrides,
})

/** Counts the state reads: a request for a session seen before must cost none. */
function counted(state: RevocationState): { state: RevocationState; reads: () => number } {
  let reads = 0
  return {
    reads: () => reads,
    state: {
      get: (key, now) => (reads++, state.get(key, now)),
      count: (key, now) => (reads++, state.count(key, now)),
      set: (key, value, ttl, now) => state.set(key, value, ttl, now),
      increment: (key, ttl, now) => state.increment(key, ttl, now),
    },
  }
}

describe('cookie-storage revocations', () => {
  test('a session checked once costs no state read on later requests; a local revocation applies at once', async () => {
    const shared = createMemorySharedState()
    const { state, reads } = counted(shared)
    const signal = await createChangeSignal(parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['k'.repeat(32)] }, {}).session, 'memory')
    const revocations = createRevocations(state, signal, { maxLifetimeMs: 86_400_000 })
    const alice = session()
    assert.equal(await revocations.isRevoked(alice, NOW), false)
    const afterFirst = reads()
    for (let i = 0; i < 100; i++) assert.equal(await revocations.isRevoked(alice, NOW), false)
    assert.equal(reads(), afterFirst, 'no state read per request')
    await revocations.revokeLogins([alice], NOW)
    assert.equal(await revocations.isRevoked(alice, NOW), true)
    assert.equal(await revocations.isRevoked({ ...alice, id: 'b'.repeat(64) }, NOW), true, 'every cookie of that login (a renewal has another id)')
    assert.equal(await revocations.isRevoked(session({ id: 'c'.repeat(64), login: 'login-2' }), NOW), false, 'another login of the same user')
  })

  test('filters: all, a user, a provider — only sessions created until the revocation', async () => {
    const revocations = createRevocations(createMemorySharedState(), { changed: () => false, announce: async () => {}, close: async () => {} }, { maxLifetimeMs: null })
    const bob = session({ id: 'd'.repeat(64), user: 'bob', login: 'b1' })
    const jwt = session({ id: 'e'.repeat(64), user: 'carol', provider: { type: 'jwt', name: 'idp' }, login: 'c1' })
    await revocations.revokeMatching({ user: 'bob' }, NOW)
    assert.equal(await revocations.isRevoked(bob, NOW), true)
    assert.equal(await revocations.isRevoked(jwt, NOW), false)
    assert.equal(await revocations.isRevoked({ ...bob, id: 'f'.repeat(64), createdAt: NOW + 1, login: 'b2' }, NOW + 2), false, 'a later login of bob')
    await revocations.revokeMatching({ provider: { type: 'jwt', name: 'idp' } }, NOW)
    assert.equal(await revocations.isRevoked(jwt, NOW), true)
  })

  test('another process sharing the SQLite file: its revocation is seen on the next check, and nothing is read while nothing changed', async () => {
    const path = join(dir, 'revocations.db')
    const config = parseConfig({ upstream: 'http://127.0.0.1:1', secrets: ['k'.repeat(32)], session: { storage: 'cookie', sqlite: { path } } }, {}).session
    const [stateA, stateB] = [createSqliteSharedState(path), createSqliteSharedState(path)]
    const counting = counted(stateB)
    const signals: ChangeSignal[] = [await createChangeSignal(config, 'sqlite'), await createChangeSignal(config, 'sqlite')]
    const a = createRevocations(stateA, signals[0]!, { maxLifetimeMs: 86_400_000 })
    const b = createRevocations(counting.state, signals[1]!, { maxLifetimeMs: 86_400_000 })
    try {
      const alice = session()
      assert.equal(await b.isRevoked(alice, NOW), false)
      const seen = counting.reads()
      for (let i = 0; i < 50; i++) await b.isRevoked(alice, NOW)
      assert.equal(counting.reads(), seen, 'PRAGMA data_version unchanged: no read')
      await a.revokeLogins([alice], NOW)
      assert.equal(await b.isRevoked(alice, NOW), true, 'the very next check on the other process')
    } finally {
      await a.close()
      await b.close()
      await stateA.close()
      await stateB.close()
    }
  })
})
