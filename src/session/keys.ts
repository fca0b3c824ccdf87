import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

/**
 * Keys derived from the configured secrets with HKDF, one per secret and purpose, so the raw
 * secret is never used directly. The first key signs; every key still verifies (rotation).
 */
export function deriveKeys(secrets: readonly string[], purpose: string, length = 32): Buffer[] {
  return secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, 'gatehouse', purpose, length)))
}

const MAC_BYTES = 16

/** `value.mac` where mac = HMAC-SHA256(first key, value) truncated to 128 bits. */
export function sign(value: string, keys: readonly Buffer[]): string {
  return `${value}.${mac(value, keys[0]!)}`
}

/**
 * Returns the value when any key's MAC matches (constant time), else null.
 * `index` tells which key matched: anything but 0 should be re-signed.
 */
export function unsign(signed: string, keys: readonly Buffer[]): { value: string; index: number } | null {
  const dot = signed.lastIndexOf('.')
  if (dot <= 0) return null
  const value = signed.slice(0, dot)
  const given = Buffer.from(signed.slice(dot + 1), 'base64url')
  if (given.length !== MAC_BYTES) return null
  for (let index = 0; index < keys.length; index++) {
    const expected = Buffer.from(mac(value, keys[index]!), 'base64url')
    if (timingSafeEqual(expected, given)) return { value, index }
  }
  return null
}

function mac(value: string, key: Buffer): string {
  return createHmac('sha256', key).update(value).digest().subarray(0, MAC_BYTES).toString('base64url')
}
