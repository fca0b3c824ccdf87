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
  iv: string
  plaintext: string
  sealed: string
}

describe('cookie codec (AES-256-GCM)', () => {
  for (const file of readdirSync('test/fixtures/cookies')) {
    const vector = JSON.parse(readFileSync(`test/fixtures/cookies/${file}`, 'utf8')) as Vector
    test(`vector ${file}: seals to the recorded value and opens back`, () => {
      const keys = sealKeys(deriveKeys([vector.secret], vector.purpose))
      assert.equal(seal(Buffer.from(vector.plaintext), keys, Buffer.from(vector.iv, 'hex')), vector.sealed)
      assert.equal(unseal(vector.sealed, keys)!.plaintext.toString(), vector.plaintext)
      // The documented layout, opened by hand: version | key id | iv | ciphertext | tag.
      const raw = Buffer.from(vector.sealed, 'base64url')
      const key = Buffer.from(hkdfSync('sha256', vector.secret, 'gatehouse', vector.purpose, 32))
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(5, 17))
      decipher.setAAD(raw.subarray(0, 5))
      decipher.setAuthTag(raw.subarray(raw.length - 16))
      assert.equal(Buffer.concat([decipher.update(raw.subarray(17, raw.length - 16)), decipher.final()]).toString(), vector.plaintext)
    })
  }

  test('round trip with a fresh IV every time', () => {
    const one = seal(Buffer.from('hello'), A)
    const two = seal(Buffer.from('hello'), A)
    assert.notEqual(one, two)
    assert.equal(unseal(one, A)!.plaintext.toString(), 'hello')
  })

  test('flipping any byte makes it unreadable', () => {
    const sealed = Buffer.from(seal(Buffer.from('{"user":"alice"}'), A), 'base64url')
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 0x01
      assert.equal(unseal(tampered.toString('base64url'), A), null, `byte ${i}`)
    }
  })

  test('a foreign key cannot open it; garbage never throws', () => {
    assert.equal(unseal(seal(Buffer.from('x'), A), B), null)
    for (const junk of ['', 'a', '!!!', 'AAAA', 'x'.repeat(5000), '%00', '\u00ff']) assert.equal(unseal(junk, A), null)
  })

  test('rotation: sealed with an older secret still opens, and reports which key', () => {
    const both = [...B, ...A]
    assert.equal(unseal(seal(Buffer.from('old'), A), both)!.keyIndex, 1)
    assert.equal(unseal(seal(Buffer.from('new'), both), both)!.keyIndex, 0)
  })
})
