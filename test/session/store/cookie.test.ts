import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sealKeys } from '../../../src/session/codec.js'
import { deriveKeys } from '../../../src/session/keys.js'
import { createCookieStore } from '../../../src/session/store/cookie.js'

const now = Date.UTC(2026, 0, 1)
const fields = { user: 'alice', roles: ['viewer'], provider: { type: 'form', name: 'form' }, createdAt: now, lastSeen: now, renewedAt: now, idleExpiresAt: now + 3600_000, lifespanExpiresAt: null, client: {} }

test('cookie storage: a known cookie opens from the cache; callers mutating it do not corrupt it', async () => {
  const store = createCookieStore(sealKeys(deriveKeys(['k'.repeat(32)], 'seal')), 'gatehouse_session')
  const { token, session } = await store.create(fields, { now })
  const first = await store.load(token)
  assert.equal(first!.session.id, session.id)
  first!.session.lastSeen = 42
  const second = await store.load(token)
  assert.equal(second!.session.lastSeen, now)
  assert.equal(second!.reissue, false)
})

test('cookie storage: a cookie sealed with an older secret still asks for reissue when served from the cache', async () => {
  const old = sealKeys(deriveKeys(['o'.repeat(32)], 'seal'))
  const current = sealKeys(deriveKeys(['n'.repeat(32), 'o'.repeat(32)], 'seal'))
  const { token } = await createCookieStore(old, 'gatehouse_session').create(fields, { now })
  const store = createCookieStore(current, 'gatehouse_session')
  assert.equal((await store.load(token))!.reissue, true)
  assert.equal((await store.load(token))!.reissue, true)
  assert.equal(await store.load(token.slice(0, -2) + 'AA'), null, 'a tampered value is refused')
})

test('cookie storage: a seal is bound to the cookie name; the same secrets under another name refuse it', async () => {
  const keys = sealKeys(deriveKeys(['k'.repeat(32)], 'seal'))
  const { token } = await createCookieStore(keys, 'gatehouse_session').create(fields, { now })
  assert.ok(await createCookieStore(keys, 'gatehouse_session').load(token))
  assert.equal(await createCookieStore(keys, 'other_session').load(token), null)
  assert.equal(await createCookieStore(keys, 'Gatehouse_session').load(token), null, 'names are compared exactly')
})
