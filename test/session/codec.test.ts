import assert from 'node:assert/strict'
import { createDecipheriv, hkdfSync } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { seal, sealKeys, unseal } from '../../src/session/codec.js'
import { deriveKeys } from '../../src/session/keys.js'

const A = sealKeys(deriveKeys(['a'.repeat(32)], 'session-cookie-seal'))
const B = sealKeys(deriveKeys(['b'.repeat(32)], 'session-cookie-seal'))

interface Vector {
  secret: string
  purpose: string
  context: string
  iv: string
  plaintext: string
  sealed: string
  /** The same plaintext sealed by the earlier layout (version 1, no context): refused now. */
  legacy_v1_sealed?: string
}

const CTX = 'gatehouse_session'

describe('cookie codec (AES-256-GCM)', () => {
  for (const file of readdirSync('test/fixtures/cookies')) {
    const vector = JSON.parse(readFileSync(`test/fixtures/cookies/${file}`, 'utf8')) as Vector
    test(`vector ${file}: seals to the recorded value and opens back`, () => {
      const keys = sealKeys(deriveKeys([vector.secret], vector.purpose))
      assert.equal(seal(Buffer.from(vector.plaintext), keys, vector.context, Buffer.from(vector.iv, 'hex')), vector.sealed)
      assert.equal(unseal(vector.sealed, keys, vector.context)!.plaintext.toString(), vector.plaintext)
      assert.equal(unseal(vector.sealed, keys, `${vector.context}x`), null, 'another cookie name (context) cannot open it')
      if (vector.legacy_v1_sealed) assert.equal(unseal(vector.legacy_v1_sealed, keys, vector.context), null, 'a version-1 seal (no name binding) is refused')
      // The documented layout, opened by hand: version | key id | iv | ciphertext | tag.
      const raw = Buffer.from(vector.sealed, 'base64url')
      const key = Buffer.from(hkdfSync('sha256', vector.secret, 'gatehouse', vector.purpose, 32))
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(5, 17))
      decipher.setAAD(Buffer.concat([raw.subarray(0, 5), Buffer.from(vector.context)]))
      decipher.setAuthTag(raw.subarray(raw.length - 16))
      assert.equal(Buffer.concat([decipher.update(raw.subarray(17, raw.length - 16)), decipher.final()]).toString(), vector.plaintext)
    })
  }

  test('round trip with a fresh IV every time', () => {
    const one = seal(Buffer.from('hello'), A, CTX)
    const two = seal(Buffer.from('hello'), A, CTX)
    assert.notEqual(one, two)
    assert.equal(unseal(one, A, CTX)!.plaintext.toString(), 'hello')
  })

  test('flipping any byte makes it unreadable', () => {
    const sealed = Buffer.from(seal(Buffer.from('{"user":"alice"}'), A, CTX), 'base64url')
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 0x01
      assert.equal(unseal(tampered.toString('base64url'), A, CTX), null, `byte ${i}`)
    }
  })

  test('a foreign key cannot open it; garbage never throws', () => {
    assert.equal(unseal(seal(Buffer.from('x'), A, CTX), B, CTX), null)
    for (const junk of ['', 'a', '!!!', 'AAAA', 'x'.repeat(5000), '%00', '\u00ff']) assert.equal(unseal(junk, A, CTX), null)
  })

  test('rotation: sealed with an older secret still opens, and reports which key', () => {
    const both = [...B, ...A]
    assert.equal(unseal(seal(Buffer.from('old'), A, CTX), both, CTX)!.keyIndex, 1)
    assert.equal(unseal(seal(Buffer.from('new'), both, CTX), both, CTX)!.keyIndex, 0)
  })
})
