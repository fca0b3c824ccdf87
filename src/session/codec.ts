import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

/**
 * Authenticated encryption for cookie-stored sessions: AES-256-GCM with HKDF-derived keys.
 * Layout (base64url): version(1) | key id(4) | iv(12) | ciphertext | tag(16). The additional
 * data is version | key id | `context` — the cookie's name — so a value sealed for one cookie
 * name never opens under another (another deployment with the same secrets, a cookie copied
 * into a different name), although the context itself is not carried. The key id is a
 * fingerprint of the key, so any configured secret opens what it sealed whatever the order of
 * `secrets`; the first seals. Version 1 (no context) is no longer opened.
 */
const VERSION = 2
const HEADER = 1 + 4
const IV = 12
const TAG = 16

export interface SealKey {
  readonly key: Buffer
  readonly id: Buffer
}

export function sealKeys(keys: readonly Buffer[]): SealKey[] {
  return keys.map((key) => ({ key, id: createHash('sha256').update(key).digest().subarray(0, 4) }))
}

/** `iv` is for test vectors only; production always draws a fresh random one. */
export function seal(plaintext: Buffer, keys: readonly SealKey[], context: string, iv: Buffer = randomBytes(IV)): string {
  const { key, id } = keys[0]!
  const header = Buffer.concat([Buffer.of(VERSION), id])
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.concat([header, Buffer.from(context, 'utf8')]))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url')
}

/** The plaintext and which key opened it, or null for anything forged, truncated, foreign or sealed for another context. */
export function unseal(token: string, keys: readonly SealKey[], context: string): { plaintext: Buffer; keyIndex: number } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return null
  const raw = Buffer.from(token, 'base64url')
  if (raw.length < HEADER + IV + TAG || raw[0] !== VERSION) return null
  const keyIndex = keys.findIndex(({ id }) => id.equals(raw.subarray(1, HEADER)))
  if (keyIndex === -1) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys[keyIndex]!.key, raw.subarray(HEADER, HEADER + IV))
    decipher.setAAD(Buffer.concat([raw.subarray(0, HEADER), Buffer.from(context, 'utf8')]))
    decipher.setAuthTag(raw.subarray(raw.length - TAG))
    const plaintext = Buffer.concat([decipher.update(raw.subarray(HEADER + IV, raw.length - TAG)), decipher.final()])
    return { plaintext, keyIndex }
  } catch {
    return null
  }
}
