import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deriveKeys, sign, unsign } from '../../src/session/keys.js'

const A = 'a'.repeat(32)
const B = 'b'.repeat(32)

test('signed values verify with the same keys and not with others', () => {
  const keys = deriveKeys([A], 'p')
  const signed = sign('value', keys)
  assert.deepEqual(unsign(signed, keys), { value: 'value', index: 0 })
  assert.equal(unsign(signed, deriveKeys([B], 'p')), null)
  assert.equal(unsign(signed, deriveKeys([A], 'other purpose')), null)
})

test('rotation: a value signed with an older secret still verifies, and says which key matched', () => {
  const old = sign('v', deriveKeys([A], 'p'))
  assert.deepEqual(unsign(old, deriveKeys([B, A], 'p')), { value: 'v', index: 1 })
})

test('tampering and garbage never verify and never throw', () => {
  const keys = deriveKeys([A], 'p')
  const signed = sign('value', keys)
  for (const bad of ['', '.', 'value', 'value.', `${signed}x`, signed.replace('value', 'valuf'), 'a.b.c', '\u0000.\u0000', `.${signed.split('.')[1]}`]) {
    assert.equal(unsign(bad, keys), null, JSON.stringify(bad))
  }
})
