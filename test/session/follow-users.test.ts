import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createUserFollower, type DirectoryLookup } from '../../src/session/follow-users.js'
import type { Session } from '../../src/session/session.js'
import type { SessionAdmin } from '../../src/session/store/store.js'

const NOW = Date.UTC(2026, 11, 8)

function directory(...names: string[]): DirectoryLookup {
  const users = new Map(names.map((name) => [name, { roles: ['viewer'] }]))
  return { find: (name) => users.get(name), names: () => users.keys() }
}

function session(id: string, user: string): Session {
  return { id, user, roles: ['viewer'], provider: { type: 'form', name: 'form' }, createdAt: NOW, lastSeen: NOW, renewedAt: NOW, idleExpiresAt: NOW + 3_600_000, lifespanExpiresAt: null, client: {} } as Session
}

/** A store of form sessions: counts the listings (each one is a page read of the whole store). */
function fakeAdmin(sessions: Session[], options: { failListing?: () => boolean } = {}) {
  const calls = { list: 0 }
  const live = new Map(sessions.map((s) => [s.id, s]))
  const admin = {
    async list(query: { provider?: { type: string } }) {
      calls.list++
      if (options.failListing?.()) throw new Error('store down')
      return { sessions: [...live.values()].filter((s) => s.provider.type === query.provider?.type), nextCursor: null }
    },
    async remove(ids: string[]) {
      for (const id of ids) live.delete(id)
      return ids.length
    },
  } as unknown as SessionAdmin
  return { admin, calls, live }
}

test('user sweep: at start it always runs; a reload that removes nobody skips it; one that removes a user ends that user’s sessions', async () => {
  const { admin, calls, live } = fakeAdmin([session('a1', 'alice'), session('b1', 'bob'), session('g1', 'gone')])
  const first = directory('alice', 'bob')
  const follower = createUserFollower(first, admin, () => NOW)
  assert.equal(await follower.apply(first), 1, 'start: sessions of users removed while the gateway was down end')
  assert.deepEqual([...live.keys()].sort(), ['a1', 'b1'])
  const listedAtStart = calls.list

  assert.equal(await follower.apply(directory('alice', 'bob', 'carol')), 0)
  assert.equal(calls.list, listedAtStart, 'a user added (or roles changed): no store scan')

  assert.equal(await follower.apply(directory('alice', 'carol')), 1)
  assert.ok(calls.list > listedAtStart, 'bob removed: the store is swept')
  assert.deepEqual([...live.keys()], ['a1'])
  assert.equal(follower.follow(session('b2', 'bob')), null, 'and every request checks too')
})

test('user sweep: after a sweep that failed, the next reload sweeps even if it removed nobody', async () => {
  let down = true
  const { admin, calls, live } = fakeAdmin([session('a1', 'alice'), session('g1', 'gone')], { failListing: () => down })
  const users = directory('alice')
  const follower = createUserFollower(users, admin, () => NOW)
  await assert.rejects(follower.apply(users), /store down/)
  down = false
  const before = calls.list
  assert.equal(await follower.apply(directory('alice')), 1)
  assert.ok(calls.list > before)
  assert.deepEqual([...live.keys()], ['a1'])
})
