import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TokenVault } from '../../src/oidc/token-vault.js'
import { createMemorySharedState } from '../../src/state/memory.js'
import type { SharedState } from '../../src/state/shared-state.js'
import { SECRET } from '../helpers/gateway.js'

const NOW = Date.UTC(2026, 0, 1)
const tokens = { accessToken: 'access-AAAAAAAAAAAAAAAA', refreshToken: 'refresh-RRRRRRRRRRRRRRRR', expiresAt: NOW + 60_000 }

/** The raw values a store dump would show (the memory state's methods are closures: spreading keeps them working). */
function recording(state: SharedState): { state: SharedState; values: string[] } {
  const values: string[] = []
  return { values, state: { ...state, set: (key, value, ttl, now) => (values.push(`${key}=${value}`), state.set(key, value, ttl, now)) } }
}

test('tokens are sealed: the store never holds them in clear, other secrets cannot open them, an entry moved to another login does not open', async () => {
  const memory = createMemorySharedState()
  const { state, values } = recording(memory)
  const vault = new TokenVault(state, [SECRET])
  await vault.save('login-1', tokens, 60_000, NOW)
  await vault.saveIdToken('login-1', 'id-token-IIIIIIIIIIII', 60_000, NOW)
  assert.deepEqual(await vault.load('login-1', NOW), tokens)
  assert.equal(await vault.idToken('login-1', NOW), 'id-token-IIIIIIIIIIII')
  for (const value of values) assert.doesNotMatch(value, /AAAA|RRRR|IIII/)

  const otherSecrets = new TokenVault(memory, ['another-secret-0123456789abcdef0123456789'])
  assert.equal(await otherSecrets.load('login-1', NOW), null)

  await memory.set('oidc:t:login-2', (await memory.get('oidc:t:login-1', NOW))!, 60_000, NOW)
  assert.equal(await vault.load('login-2', NOW), null)

  await vault.forget('login-1')
  assert.equal(await vault.load('login-1', NOW), null)
  assert.equal(await vault.idToken('login-1', NOW), null)
  await vault.save('login-3', tokens, 60_000, NOW)
  assert.equal(await vault.load('login-3', NOW + 61_000), null, 'expired with its login')
})

test('each token has its own entry, so large tokens fit; one too large for an entry is a clear error, never stored', async () => {
  const vault = new TokenVault(createMemorySharedState(), [SECRET])
  const big = { accessToken: 'a'.repeat(5_000), refreshToken: 'r'.repeat(5_000), expiresAt: NOW + 60_000 }
  await vault.save('big', big, 60_000, NOW)
  assert.deepEqual(await vault.load('big', NOW), big)
  // An access token of an Entra ID user in many groups (over the old 8 KB entry bound) fits too.
  const entra = { ...big, accessToken: 'e'.repeat(12_000) }
  await vault.save('entra', entra, 60_000, NOW)
  assert.deepEqual(await vault.load('entra', NOW), entra)
  await assert.rejects(vault.save('huge', { ...big, accessToken: 'a'.repeat(70_000) }, 60_000, NOW), (error: Error & { reason?: string; status?: number }) => error.reason === 'oidc_token_too_large' && error.status === 502)
  assert.equal(await vault.load('huge', NOW), null)
})

test('one-time values and the refresh lock are first-come across every user of the state', async () => {
  const state = createMemorySharedState()
  const a = new TokenVault(state, [SECRET])
  const b = new TokenVault(state, [SECRET])
  assert.equal(await a.firstUse('jti', 'op\nabc', 60_000, NOW), true)
  assert.equal(await b.firstUse('jti', 'op\nabc', 60_000, NOW), false)
  assert.equal(await b.firstUse('jti', 'op\nabc', 60_000, NOW + 61_000), true, 'forgotten after its window')
  assert.equal(await a.lock('h', 15_000, NOW), true)
  assert.equal(await b.lock('h', 15_000, NOW), false)
  await a.unlock('h')
  assert.equal(await b.lock('h', 15_000, NOW), true)
})

test('cookie storage index: logins by sid, and by sub when there is no sid', async () => {
  const vault = new TokenVault(createMemorySharedState(), [SECRET])
  await vault.index('l1', { provider: 'op', sub: 'carol', sid: 's1' }, 60_000, NOW)
  await vault.index('l2', { provider: 'op', sub: 'carol', sid: 's2' }, 60_000, NOW)
  await vault.index('l3', { provider: 'other', sub: 'carol', sid: 's1' }, 60_000, NOW)
  assert.deepEqual(await vault.indexed('op', { sid: 's1' }, NOW), ['l1'])
  assert.deepEqual(await vault.indexed('op', { sub: 'carol' }, NOW), ['l1', 'l2'])
  assert.deepEqual(await vault.indexed('op', {}, NOW), [])
})
