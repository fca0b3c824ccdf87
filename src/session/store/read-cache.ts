import type { Session } from '../session.js'

/** Bound of the record cache: 50,000 sessions (about 1 KB each with its Map entry: ~50 MB worst case). */
export const READ_CACHE_MAX_ENTRIES = 50_000

/**
 * A short-lived, bounded, in-process cache of session records, so a busy page costs no store
 * round trip per request. Every write made through this process evicts or refreshes the entry at
 * once; writes made by other processes arrive as invalidations (`evict`/`clear`: synchronously
 * for SQLite, by pub/sub or LISTEN/NOTIFY for Redis and PostgreSQL), and `ttlMs` bounds how long
 * an entry can live in any case.
 *
 * Fills race with invalidations: a record read from the backend before an invalidation and
 * stored after it would stay stale. So every invalidation bumps `generation`, and a fill
 * stored with the generation seen before the read is dropped when it changed meanwhile.
 */
export class SessionReadCache {
  readonly #entries = new Map<string, { session: Session; until: number }>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #now: () => number
  #generation = 0

  constructor(ttlMs: number, now: () => number, maxEntries = READ_CACHE_MAX_ENTRIES) {
    this.#ttlMs = ttlMs
    this.#now = now
    this.#maxEntries = maxEntries
  }

  get enabled(): boolean {
    return this.#ttlMs > 0
  }

  /** Changes on every invalidation; pass the value seen before a backend read to `set`. */
  get generation(): number {
    return this.#generation
  }

  get size(): number {
    return this.#entries.size
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

  /**
   * Stores a record read or written at `generation` (default: now). If an invalidation came
   * in since, the record may already be stale: the entry is dropped instead.
   */
  set(session: Session, generation = this.#generation): void {
    if (!this.enabled) return
    this.#entries.delete(session.id)
    if (generation !== this.#generation) return
    if (this.#entries.size >= this.#maxEntries) {
      // Drop the oldest insertion (Map keeps insertion order): cheap and good enough here.
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(session.id, { session: { ...session }, until: this.#now() + this.#ttlMs })
  }

  evict(ids: Iterable<string>): void {
    this.#generation++
    for (const id of ids) this.#entries.delete(id)
  }

  clear(): void {
    this.#generation++
    this.#entries.clear()
  }
}
