import { checkEntry, type Counter, type SharedState } from './shared-state.js'

interface Entry {
  value: string
  count: number
  expiresAt: number
}

/** In one process only: for `memory` session storage, and for tests. */
export function createMemorySharedState(): SharedState {
  const entries = new Map<string, Entry>()
  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key)
    if (entry && entry.expiresAt <= now) {
      entries.delete(key)
      return undefined
    }
    return entry
  }
  return {
    kind: 'memory',
    async increment(key, ttlMs, now, by = 1): Promise<Counter> {
      checkEntry(key)
      const entry = live(key, now)
      if (entry) {
        entry.count += by
        return { count: entry.count, resetAt: entry.expiresAt }
      }
      entries.set(key, { value: '', count: by, expiresAt: now + ttlMs })
      return { count: by, resetAt: now + ttlMs }
    },
    async count(key, now) {
      const entry = live(key, now)
      return entry ? { count: entry.count, resetAt: entry.expiresAt } : { count: 0, resetAt: now }
    },
    async get(key, now) {
      return live(key, now)?.value ?? null
    },
    async set(key, value, ttlMs, now) {
      checkEntry(key, value)
      entries.set(key, { value, count: 0, expiresAt: now + ttlMs })
    },
    async setIfAbsent(key, value, ttlMs, now) {
      checkEntry(key, value)
      if (live(key, now)) return false
      entries.set(key, { value, count: 0, expiresAt: now + ttlMs })
      return true
    },
    async delete(key) {
      entries.delete(key)
    },
    async removeExpired(now) {
      let removed = 0
      for (const [key, entry] of entries) if (entry.expiresAt <= now) (entries.delete(key), removed++)
      return removed
    },
    async close() {
      entries.clear()
    },
  }
}
