import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { BrowserSessions } from '../../src/session/browser-sessions.js'
import { deriveKeys } from '../../src/session/keys.js'
import { SessionManager } from '../../src/session/manager.js'
import { createMemoryStore } from '../../src/session/store/memory.js'
import { createServerSideStore } from '../../src/session/store/server-side.js'

const HOUR = 3600_000
const alice = { user: 'alice', roles: ['a'], provider: { type: 'form', name: 'form' } }
const cookieSettings = { name: 'gatehouse_session', path: '/', secure: true, same_site: 'strict' as const }
const pair = (line: string) => line.split(';')[0]!

function setup() {
  const clock = new ManualClock()
  const store = createServerSideStore(createMemoryStore(), deriveKeys(['k'.repeat(32)], 'test'), clock)
  const manager = new SessionManager({
    store,
    clock,
    policy: { idleTimeout: 8 * HOUR, lifespan: 30 * 24 * HOUR, rollingTimeout: HOUR, touchInterval: 60_000, rotationGrace: 10_000 },
  })
  return { clock, sessions: new BrowserSessions(manager, cookieSettings) }
}

describe('browser sessions (the one owner of the session cookie)', () => {
  test('begin issues a fresh cookie and ends the session the request came with (no fixation)', async () => {
    const { sessions } = setup()
    const first = pair((await sessions.begin(alice, {}, undefined)).setCookie[0]!)
    const second = pair((await sessions.begin(alice, {}, first)).setCookie[0]!)
    assert.notEqual(first, second)
    assert.equal((await sessions.resume(first)).status, 'ended')
    assert.equal((await sessions.resume(second)).status, 'valid')
  })

  test('resume needs no Set-Cookie until the rolling renewal, which issues the new id', async () => {
    const { clock, sessions } = setup()
    const cookie = pair((await sessions.begin(alice, {}, undefined)).setCookie[0]!)
    const quiet = await sessions.resume(cookie)
    assert.equal(quiet.status, 'valid')
    assert.deepEqual(quiet.setCookie, [])
    clock.advance(HOUR)
    const renewed = await sessions.resume(cookie)
    assert.equal(renewed.status, 'valid')
    assert.equal(renewed.setCookie.length, 1)
    assert.notEqual(pair(renewed.setCookie[0]!), cookie)
    assert.match(renewed.setCookie[0]!, /HttpOnly; Secure; SameSite=Strict; Max-Age=\d+/)
  })

  test('rotate: false (forward-auth) defers a due renewal: no new id, the idle expiry still extends; the next ordinary resume renews', async () => {
    const { clock, sessions } = setup()
    const cookie = pair((await sessions.begin(alice, {}, undefined)).setCookie[0]!)
    // Past several rolling timeouts and the 8 h idle timeout, seen every 3 h on checks only.
    for (let i = 0; i < 4; i++) {
      clock.advance(3 * HOUR)
      const checked = await sessions.resume(cookie, { rotate: false })
      assert.equal(checked.status, 'valid')
      assert.deepEqual(checked.setCookie, [])
    }
    const renewed = await sessions.resume(cookie)
    assert.equal(renewed.setCookie.length, 1)
    assert.notEqual(pair(renewed.setCookie[0]!), cookie)
  })

  test('an unknown, forged or expired cookie is deleted; no cookie is "none" with nothing to send', async () => {
    const { clock, sessions } = setup()
    const forged = await sessions.resume('gatehouse_session=forged.value')
    assert.equal(forged.status, 'ended')
    assert.match(forged.setCookie[0]!, /^gatehouse_session=; .*Max-Age=0/)
    assert.deepEqual(await sessions.resume('other=1'), { status: 'none', setCookie: [] })
    const cookie = pair((await sessions.begin(alice, {}, undefined)).setCookie[0]!)
    clock.advance(9 * HOUR)
    // Which end it was (idle, lifespan, revoked) is not told apart yet: the store forgets expired records.
    assert.equal((await sessions.resume(cookie)).status, 'ended')
  })

  test('end destroys the session and deletes the cookie', async () => {
    const { sessions } = setup()
    const cookie = pair((await sessions.begin(alice, {}, undefined)).setCookie[0]!)
    const ended = await sessions.end(cookie)
    assert.equal(ended.session?.user, 'alice')
    assert.match(ended.setCookie[0]!, /Max-Age=0/)
    assert.equal((await sessions.resume(cookie)).status, 'ended')
  })
})
