import { createHmac, randomBytes } from 'node:crypto'
import type { Identity } from '../identity.js'

/**
 * A short positive cache of verified credentials, so a password hash (tens of ms) or a JWT
 * signature (~150 µs) is not checked again on every request. Keys are HMACs under a random
 * per-process key: neither the plain credential nor an offline-crackable hash is kept.
 */
export class CredentialCache {
  readonly #key = randomBytes(32)
  readonly #entries = new Map<string, { identity: Identity; until: number }>()
  readonly #ttlMs: number
  readonly #max: number
  readonly #now: () => number

  constructor(ttlMs: number, now: () => number, max = 10_000) {
    this.#ttlMs = ttlMs
    this.#now = now
    this.#max = max
  }

  keyOf(credential: string): string {
    return createHmac('sha256', this.#key).update(credential).digest('base64url')
  }

  get(key: string): Identity | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    if (entry.until <= this.#now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.identity
  }

  /** Caches until `notAfter` or the TTL, whichever comes first. */
  set(key: string, identity: Identity, notAfter?: number): void {
    if (this.#ttlMs <= 0) return
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    const until = Math.min(this.#now() + this.#ttlMs, notAfter ?? Infinity)
    this.#entries.set(key, { identity, until })
  }
}
