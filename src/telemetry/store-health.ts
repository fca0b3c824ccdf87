import type { Logger } from './logger.js'

/** Logs a store outage once when it starts and once when it ends, not per request. */
export class StoreHealth {
  #down = false
  readonly #log: Logger
  constructor(log: Logger) {
    this.#log = log
  }
  get down(): boolean {
    return this.#down
  }
  failed(error: unknown): void {
    if (this.#down) return
    this.#down = true
    const cause = (error as { cause?: unknown }).cause
    this.#log.error({ event: 'store_unavailable', err: cause instanceof Error ? cause.message : String(error) }, 'session store unavailable; failing closed with 503')
  }
  ok(): void {
    if (!this.#down) return
    this.#down = false
    this.#log.info({ event: 'store_recovered' }, 'session store reachable again')
  }
}
