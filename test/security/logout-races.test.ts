import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ALICE, get, login, sessionCookie, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { DATABASE_URL, dropPostgresTable, dropRedisPrefix, postgresSkip, REDIS_URL, redisSkip, uniqueName } from '../helpers/services.js'

/**
 * Logout races and revocation probes, each a row of data: a login renewed by rolling renewal has
 * two live ids for `rotation_grace` (the old one for requests in flight, the new one); logging out
 * with either must end both, a renewal racing the logout must not leave a successor behind, and
 * with cookie storage a copied cookie of that login must be refused after logout.
 */
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-races-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const TOKEN = 'admin-token-0123456789abcdef0123456789'
const HOUR = 3600_000

type Storage = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'cookie'
const STORAGES: readonly Storage[] = ['memory', 'sqlite', 'redis', 'postgres', 'cookie']
const skipFor = (storage: Storage) => (storage === 'redis' ? redisSkip() : storage === 'postgres' ? postgresSkip() : Promise.resolve(false as const))
const cleanups: (() => Promise<void>)[] = []
after(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined)
})

function sessionFor(storage: Storage): Record<string, unknown> {
  const base = { rolling_timeout: '1h', rotation_grace: '10s', idle_timeout: '8h' }
  switch (storage) {
    case 'memory':
      return { ...base, storage }
    case 'sqlite':
      return { ...base, storage, sqlite: { path: join(dir, `${uniqueName('s')}.db`) } }
    case 'cookie':
      return { ...base, storage, sqlite: { path: join(dir, `${uniqueName('c')}.db`) }, revocation: { storage: 'sqlite' } }
    case 'redis': {
      const prefix = `${uniqueName('gh_races')}:`
      cleanups.push(() => dropRedisPrefix(REDIS_URL, prefix))
      return { ...base, storage, redis: { url: REDIS_URL, prefix } }
    }
    case 'postgres': {
      const table = uniqueName('gh_races')
      cleanups.push(async () => (await dropPostgresTable(DATABASE_URL, table), await dropPostgresTable(DATABASE_URL, `${table}_state`)))
      return { ...base, storage, postgres: { url: DATABASE_URL, table } }
    }
  }
}

/** Login, then a request after rolling_timeout: the old cookie (still in its grace) and the new one. */
async function renewedPair(gw: TestGateway): Promise<{ old: string; renewed: string }> {
  const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
  gw.clock.advance(HOUR)
  const response = await get(gw.url, '/app', { cookie: cookie! })
  assert.equal(response.status, 200)
  const renewed = sessionCookie(response)
  assert.ok(renewed && renewed !== cookie, 'rolling renewal issued a new cookie')
  assert.equal((await get(gw.url, '/app', { cookie: cookie! })).status, 200, 'the old one works during its grace')
  return { old: cookie!, renewed }
}

const logout = (gw: TestGateway, cookie: string) => fetch(`${gw.url}/_gatehouse/logout`, { method: 'POST', headers: { cookie } })
async function refusedAsRevoked(gw: TestGateway, cookie: string, what: string) {
  const response = await get(gw.url, '/app', { cookie })
  assert.equal(response.status, 401, `${what}: refused`)
  assert.equal(((await response.json()) as { reason: string }).reason, 'session_revoked', `${what}: as revoked`)
  assert.equal(response.headers.get('gatehouse-session-end'), 'session_revoked')
}

/** [log out with, then replay, why]. Replays come at once: within the rotation grace. */
const PAIR_PROBES: ReadonlyArray<readonly ['old' | 'renewed', 'old' | 'renewed', string]> = [
  ['old', 'renewed', 'logout with the replaced id (a tab that missed the renewal) ends its successor'],
  ['renewed', 'old', 'logout with the new id ends the replaced one still in its grace'],
  ['renewed', 'renewed', 'the cookie logged out with'],
  ['old', 'old', 'the cookie logged out with, even within its grace'],
]

for (const storage of STORAGES) {
  describe(`logout races (${storage})`, async () => {
    const skip = await skipFor(storage)
    for (const [logoutWith, replay, why] of PAIR_PROBES) {
      test(`${why}`, { skip }, async () => {
        const gw = await startTestGateway({ session: sessionFor(storage) })
        try {
          const pair = await renewedPair(gw)
          assert.equal((await logout(gw, pair[logoutWith])).status, 200)
          await refusedAsRevoked(gw, pair[replay], `${replay} after logout with ${logoutWith}`)
        } finally {
          await gw.close()
        }
      })
    }

    test('a logout racing the renewal leaves no cookie of that login alive (20 rounds)', { skip }, async () => {
      const gw = await startTestGateway({ session: sessionFor(storage) })
      try {
        for (let round = 0; round < 20; round++) {
          const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
          gw.clock.advance(HOUR)
          // Renewals due on every request, and a logout with the same cookie among them.
          const requests = Array.from({ length: 6 }, (_, i) => (i === round % 6 ? logout(gw, cookie!) : get(gw.url, '/app', { cookie: cookie! })))
          const answers = await Promise.all(requests)
          const issued = answers.map((response) => sessionCookie(response)).filter((c): c is string => c !== undefined)
          for (const candidate of [cookie!, ...issued]) {
            const replay = await get(gw.url, '/app', { cookie: candidate })
            assert.equal(replay.status, 401, `round ${round}: a cookie of the logged-out login still works`)
          }
        }
      } finally {
        await gw.close()
      }
    })

    if (storage !== 'cookie') {
      test('an admin DELETE of the new id ends the replaced one in its grace too', { skip }, async () => {
        const gw = await startTestGateway({ admin: { token: TOKEN }, session: sessionFor(storage) })
        try {
          const pair = await renewedPair(gw)
          const listed = (await (await fetch(`${gw.url}/_gatehouse/admin/sessions?username=alice`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { sessions: { id: string; current: boolean }[] }
          assert.equal(listed.sessions.length, 2, 'both ids of the pair are listed while the grace lasts')
          for (const { id } of listed.sessions.slice(-1)) assert.equal((await fetch(`${gw.url}/_gatehouse/admin/sessions/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200)
          await refusedAsRevoked(gw, pair.old, 'old')
          await refusedAsRevoked(gw, pair.renewed, 'renewed')
        } finally {
          await gw.close()
        }
      })
    }

    if (storage !== 'memory') {
      test('two gateways sharing the store: logout on one ends both ids on the other at once; parallel renewals on both do not fork the login', { skip }, async () => {
        const session = sessionFor(storage)
        const clock = new ManualClock(Date.now())
        const one = await startTestGateway({ session }, { clock })
        const two = await startTestGateway({ session }, { clock })
        try {
          const { cookie } = await login(one.url, ALICE.username, ALICE.password)
          assert.equal((await get(two.url, '/app', { cookie: cookie! })).status, 200, 'cached on the second gateway')
          clock.advance(HOUR)
          // Both renew the same id at once: at most one successor may come out of it.
          const answers = await Promise.all([one, two, one, two].map((gw) => get(gw.url, '/app', { cookie: cookie! })))
          const issued = [...new Set(answers.map((response) => sessionCookie(response)).filter((c): c is string => c !== undefined))]
          assert.ok(issued.length >= 1)
          assert.equal((await logout(two, issued[0]!)).status, 200)
          for (const candidate of [cookie!, ...issued]) {
            for (const gw of [one, two]) assert.equal((await get(gw.url, '/app', { cookie: candidate })).status, 401, 'no cookie of the login survives on either gateway')
          }
        } finally {
          await one.close()
          await two.close()
        }
      })
    }
  })
}

describe('revocation probes (cookie storage)', () => {
  /** [what revokes, then which cookie is replayed]. */
  const PROBES: ReadonlyArray<readonly [string, (gw: TestGateway, cookie: string) => Promise<unknown>]> = [
    ['logout', (gw, cookie) => logout(gw, cookie)],
    ['logout argument on any path', (gw, cookie) => get(gw.url, '/app?bye=1', { cookie })],
    ['_invalidate all', (gw) => fetch(`${gw.url}/_gatehouse/admin/sessions/_invalidate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"match":"all"}' })],
    ['_invalidate by user', (gw) => fetch(`${gw.url}/_gatehouse/admin/sessions/_invalidate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"match":"query","query":{"username":"alice"}}' })],
    ['_invalidate by provider', (gw) => fetch(`${gw.url}/_gatehouse/admin/sessions/_invalidate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"match":"query","query":{"provider":{"type":"form"}}}' })],
  ]
  for (const [what, revoke] of PROBES) {
    test(`${what}: the copied cookie, every older renewal of it and the newest are refused`, async () => {
      const gw = await startTestGateway({ admin: { token: TOKEN }, session: { ...sessionFor('cookie'), logout: { query_arg: 'bye' } } })
      try {
        const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
        const chain = [cookie!]
        for (let i = 0; i < 3; i++) {
          gw.clock.advance(HOUR)
          chain.push(sessionCookie(await get(gw.url, '/app', { cookie: chain.at(-1)! }))!)
        }
        assert.equal(new Set(chain).size, 4)
        for (const c of chain) assert.equal((await get(gw.url, '/app', { cookie: c })).status, 200, 'cookie storage keeps older renewals valid')
        await revoke(gw, chain.at(-1)!)
        for (const c of chain) await refusedAsRevoked(gw, c, what)
        gw.clock.advance(1)
        const fresh = (await login(gw.url, ALICE.username, ALICE.password)).cookie!
        assert.equal((await get(gw.url, '/app', { cookie: fresh })).status, 200, 'a login after the revocation works')
      } finally {
        await gw.close()
      }
    })
  }
})
