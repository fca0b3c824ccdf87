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

test('cookie storage: a presented value that keeps coming back gets the same renewal within the touch interval (no seal per request), a fresh one after it', async () => {
  const store = createCookieStore(sealKeys(deriveKeys(['k'.repeat(32)], 'seal')), 'gatehouse_session', { reuseRenewalMs: 60_000 })
  const { token, session } = await store.create(fields, { now })
  const touchedAt = (at: number) => store.touch(token, { ...session, lastSeen: at, idleExpiresAt: at + 3600_000 })
  const first = await touchedAt(now + 61_000)
  assert.ok(first && first !== token)
  assert.equal(await touchedAt(now + 70_000), first, 'a client that did not store the renewed cookie gets the same one again')
  assert.equal((await store.load(first))!.session.lastSeen, now + 61_000)
  const later = await touchedAt(now + 121_000)
  assert.ok(later && later !== first, 'after the interval the value is sealed again')
  assert.equal((await store.load(later))!.session.lastSeen, now + 121_000)

  // A due rotation: one new id per presented value, not one per request.
  const next = { ...fields, lastSeen: now + 3_700_000, renewedAt: now + 3_700_000 }
  const rotated = await store.rotate(token, session, next, now + 3_710_000)
  const again = await store.rotate(token, session, { ...next, lastSeen: now + 3_705_000 }, now + 3_715_000)
  assert.equal(again!.token, rotated!.token)
  assert.equal(again!.session.id, rotated!.session.id)
  assert.notEqual(rotated!.session.id, session.id)

  // Logout forgets it: the same value presented later is not answered from the memo.
  await store.destroy(token, session)
  assert.notEqual(await touchedAt(now + 125_000), later)
})

test('cookie storage: without reuseRenewalMs every touch seals anew', async () => {
  const store = createCookieStore(sealKeys(deriveKeys(['k'.repeat(32)], 'seal')), 'gatehouse_session')
  const { token, session } = await store.create(fields, { now })
  const a = await store.touch(token, { ...session, lastSeen: now + 61_000 })
  const b = await store.touch(token, { ...session, lastSeen: now + 62_000 })
  assert.notEqual(a, b)
})
