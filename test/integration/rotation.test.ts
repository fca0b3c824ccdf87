import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ALICE, get, login, sessionCookie, startTestGateway } from '../helpers/gateway.js'

const A = 'secret-A-0123456789abcdef0123456789abcdef'
const B = 'secret-B-0123456789abcdef0123456789abcdef'
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotation-'))
after(() => rmSync(dir, { recursive: true, force: true }))

for (const storage of ['sqlite', 'cookie'] as const) {
  describe(`secret rotation across restarts (${storage})`, () => {
    test('a cookie made with the old secret still works after [new, old], is re-issued with the new one, and dies with the old secret', async () => {
      const session = { storage, sqlite: { path: join(dir, `${storage}.db`) } }
      const clock = new ManualClock(Date.now())
      const first = await startTestGateway({ secrets: [A], session }, { clock })
      const { cookie: oldCookie } = await login(first.url, ALICE.username, ALICE.password)
      await first.close()

      const second = await startTestGateway({ secrets: [B, A], session }, { clock })
      let newCookie: string | undefined
      try {
        const response = await get(second.url, '/x', { cookie: oldCookie! })
        assert.equal(response.status, 200, 'still valid during the rotation')
        newCookie = sessionCookie(response)
        assert.ok(newCookie && newCookie !== oldCookie, 're-issued with the first secret')
        assert.equal((await get(second.url, '/x', { cookie: newCookie })).status, 200)
      } finally {
        await second.close()
      }

      const third = await startTestGateway({ secrets: [B], session }, { clock })
      try {
        assert.equal((await get(third.url, '/x', { cookie: newCookie! })).status, 200, 'the re-issued cookie survives removing the old secret')
        assert.equal((await get(third.url, '/x', { cookie: oldCookie! })).status, 401, 'the old cookie does not')
      } finally {
        await third.close()
      }
    })
  })
}

describe('rolling renewal', () => {
  test('after rolling_timeout the session gets a new id; the old one works for the grace period only', async () => {
    const gw = await startTestGateway({ session: { rolling_timeout: '1h', rotation_grace: '10s', idle_timeout: '8h' } })
    try {
      const { cookie: original } = await login(gw.url, ALICE.username, ALICE.password)
      gw.clock.advance(30 * 60_000)
      const early = await get(gw.url, '/x', { cookie: original! })
      assert.equal(early.status, 200)
      assert.equal(sessionCookie(early), undefined, 'no renewal before rolling_timeout')

      gw.clock.advance(31 * 60_000)
      const renewedResponse = await get(gw.url, '/x', { cookie: original! })
      assert.equal(renewedResponse.status, 200)
      const renewed = sessionCookie(renewedResponse)
      assert.ok(renewed && renewed !== original)

      gw.clock.advance(5_000)
      assert.equal((await get(gw.url, '/x', { cookie: original! })).status, 200, 'in-flight requests with the old id still pass')
      gw.clock.advance(6_000)
      assert.equal((await get(gw.url, '/x', { cookie: original! })).status, 401, 'after the grace period the old id is dead')
      assert.equal((await get(gw.url, '/x', { cookie: renewed })).status, 200)
      const whoami = (await (await get(gw.url, '/_gatehouse/session', { cookie: renewed })).json()) as { created_at: string }
      assert.equal(new Date(whoami.created_at).getTime() <= gw.clock.now() - 61 * 60_000, true, 'renewal keeps the original login time (lifespan still counts from login)')
    } finally {
      await gw.close()
    }
  })

  test('last-seen is written at most once per touch_interval, and idle expiry still slides', async () => {
    const gw = await startTestGateway({ session: { storage: 'memory', touch_interval: '60s', idle_timeout: '5m', rolling_timeout: 0 } })
    try {
      const store = gw.gateway.store
      let touches = 0
      const touch = store.touch.bind(store)
      ;(store as { touch: typeof store.touch }).touch = (token, session) => (touches++, touch(token, session))
      const { cookie } = await login(gw.url, ALICE.username, ALICE.password)
      for (let i = 0; i < 10; i++) {
        gw.clock.advance(5_000)
        assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200)
      }
      assert.equal(touches, 0, '50 s of requests: no write yet')
      gw.clock.advance(15_000)
      await get(gw.url, '/x', { cookie: cookie! })
      assert.equal(touches, 1, 'one write once touch_interval passed')
      gw.clock.advance(4 * 60_000 + 30_000)
      assert.equal((await get(gw.url, '/x', { cookie: cookie! })).status, 200, 'idle expiry slid with the write (5m from the touch, not from login)')
    } finally {
      await gw.close()
    }
  })
})
