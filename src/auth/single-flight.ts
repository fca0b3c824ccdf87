/**
 * Concurrent calls with the same key share the first one's promise: twenty parallel requests
 * with the same Basic credentials (a page's first burst) cost one password check and count as
 * one login attempt. Keys are the credential cache's HMACs, never the credential.
 */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>()

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key)
    if (running) return running
    const started = work().finally(() => this.#running.delete(key))
    this.#running.set(key, started)
    return started
  }
}
