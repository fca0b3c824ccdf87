import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { BrowserSessions } from '../../src/session/browser-sessions.js'
import { deriveKeys } from '../../src/session/keys.js'
import { SessionManager } from '../../src/session/manager.js'
import { createMemoryStore } from '../../src/session/store/memory.js'
import { createServerSideStore } from '../../src/session/store/server-side.js'
import { createCookieStore } from '../../src/session/store/cookie.js'
import { sealKeys } from '../../src/session/codec.js'
import type { SessionStore } from '../../src/session/store/store.js'

const HOUR = 3600_000
const alice = { user: 'alice', roles: ['a'], provider: { type: 'form', name: 'form' } }
const cookieSettings = { name: 'gatehouse_session', path: '/', secure: true, same_site: 'strict' as const }
const pair = (line: string) => line.split(';')[0]!

function setup(options: { rememberLifespan?: number | null; store?: SessionStore } = {}) {
  const clock = new ManualClock()
  const store = options.store ?? createServerSideStore(createMemoryStore(), deriveKeys(['k'.repeat(32)], 'test'), clock)
  const manager = new SessionManager({
    store,
    clock,
    policy: { idleTimeout: 8 * HOUR, lifespan: 30 * 24 * HOUR, rollingTimeout: HOUR, touchInterval: 60_000, rotationGrace: 10_000 },
    rememberLifespan: options.rememberLifespan,
  })
  return { clock, sessions: new BrowserSessions(manager, cookieSettings) }
}
const maxAge = (line: string) => Number(/Max-Age=(\d+)/.exec(line)?.[1] ?? NaN)

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
    // Without remember-me the cookie ends with the browser: no Max-Age, also on renewal (it used to persist for the lifespan).
    assert.match(renewed.setCookie[0]!, /HttpOnly; Secure; SameSite=Strict$/)
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

  test('remember-me: only a remembered login gets Max-Age (remember_me.lifespan, capped by the session lifespan); renewals keep the choice', async () => {
    for (const [name, store] of [['server-side', undefined], ['cookie storage', createCookieStore(sealKeys(deriveKeys(['k'.repeat(32)], 'seal')), 'gatehouse_session')]] as const) {
      const { clock, sessions } = setup({ rememberLifespan: 7 * 24 * HOUR, store })
      const plain = await sessions.begin(alice, {}, undefined)
      assert.doesNotMatch(plain.setCookie[0]!, /Max-Age|Expires/, name)
      const remembered = await sessions.begin(alice, {}, undefined, { remember: true })
      assert.equal(remembered.session.remember, true, name)
      assert.equal(maxAge(remembered.setCookie[0]!), 7 * 24 * 3600, `${name}: the shorter of remember_me.lifespan (7 d) and lifespan (30 d)`)
      clock.advance(HOUR)
      const renewedRemembered = await sessions.resume(pair(remembered.setCookie[0]!))
      assert.equal(maxAge(renewedRemembered.setCookie[0]!), 7 * 24 * 3600 - 3600, `${name}: a renewal keeps counting from sign-in`)
      const renewedPlain = await sessions.resume(pair(plain.setCookie[0]!))
      assert.equal(renewedPlain.setCookie.length, 1, name)
      assert.doesNotMatch(renewedPlain.setCookie[0]!, /Max-Age|Expires/, `${name}: a renewal keeps the browser-session cookie`)
    }
    // The session lifespan bounds remember-me: a longer remember_me.lifespan never outlives it.
    const { sessions } = setup({ rememberLifespan: 90 * 24 * HOUR })
    assert.equal(maxAge((await sessions.begin(alice, {}, undefined, { remember: true })).setCookie[0]!), 30 * 24 * 3600)
    // Remember-me disabled: the request to be remembered is ignored.
    const off = setup({ rememberLifespan: null })
    const asked = await off.sessions.begin(alice, {}, undefined, { remember: true })
    assert.equal(asked.session.remember, undefined)
    assert.doesNotMatch(asked.setCookie[0]!, /Max-Age/)
  })

  test('two different session cookies are refused (400 duplicate_session_cookie); identical copies pass; logout ends both', async () => {
    const { sessions } = setup()
    const mine = pair((await sessions.begin(alice, {}, undefined)).setCookie[0]!)
    const tossed = pair((await sessions.begin({ ...alice, user: 'mallory' }, {}, undefined)).setCookie[0]!)
    await assert.rejects(sessions.resume(`${tossed}; ${mine}`), (error: unknown) => (error as { reason?: string }).reason === 'duplicate_session_cookie' && (error as { status?: number }).status === 400)
    assert.equal((await sessions.resume(`${mine}; other=1; ${mine}`)).status, 'valid')
    const ended = await sessions.end(`${mine}; ${tossed}`)
    assert.equal(ended.session?.user, 'alice')
    assert.equal((await sessions.resume(mine)).status, 'ended')
    assert.equal((await sessions.resume(tossed)).status, 'ended')
  })
})
