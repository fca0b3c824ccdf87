/**
 * A Map with a hard bound on its entry count and, optionally, on the summed weight of its
 * entries (e.g. bytes). When a bound is reached the oldest insertions are dropped first (Map
 * keeps insertion order): O(1), no timers, and a hit costs one Map lookup. Good enough for caches
 * whose misses only cost a recomputation.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, { value: V; weight: number }>()
  readonly #maxEntries: number
  readonly #maxWeight: number
  #weight = 0

  constructor(maxEntries: number, maxWeight = Number.POSITIVE_INFINITY) {
    this.#maxEntries = maxEntries
    this.#maxWeight = maxWeight
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)?.value
  }

  set(key: K, value: V, weight = 0): void {
    if (this.#maxEntries <= 0 || weight > this.#maxWeight) return
    this.delete(key)
    while (this.#entries.size >= this.#maxEntries || this.#weight + weight > this.#maxWeight) {
      const oldest = this.#entries.keys().next()
      if (oldest.done) break
      this.delete(oldest.value)
    }
    this.#entries.set(key, { value, weight })
    this.#weight += weight
  }

  delete(key: K): void {
    const entry = this.#entries.get(key)
    if (!entry) return
    this.#entries.delete(key)
    this.#weight -= entry.weight
  }

  clear(): void {
    this.#entries.clear()
    this.#weight = 0
  }
}
