import type { Session } from '../session.js'

/**
 * A short-lived, bounded, in-process cache of session records for network stores (Redis,
 * PostgreSQL), so a busy page costs no store round trip per request. Every write made through
 * this process evicts or refreshes the entry at once; writes made by other processes are seen
 * after at most `ttlMs` (or at once when the backend publishes invalidations).
 */
export class SessionReadCache {
  readonly #entries = new Map<string, { session: Session; until: number }>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #now: () => number

  constructor(ttlMs: number, now: () => number, maxEntries = 50_000) {
    this.#ttlMs = ttlMs
    this.#now = now
    this.#maxEntries = maxEntries
  }

  get enabled(): boolean {
    return this.#ttlMs > 0
  }

  /** A copy, so callers may mutate what they get without corrupting the cache. */
  get(id: string): Session | undefined {
    const entry = this.#entries.get(id)
    if (!entry) return undefined
    if (entry.until <= this.#now()) {
      this.#entries.delete(id)
      return undefined
    }
    return { ...entry.session }
  }

  set(session: Session): void {
    if (!this.enabled) return
    if (this.#entries.size >= this.#maxEntries) {
      // Drop the oldest insertion (Map keeps insertion order): cheap and good enough here.
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.delete(session.id)
    this.#entries.set(session.id, { session: { ...session }, until: this.#now() + this.#ttlMs })
  }

  evict(ids: Iterable<string>): void {
    for (const id of ids) this.#entries.delete(id)
  }

  clear(): void {
    this.#entries.clear()
  }
}
