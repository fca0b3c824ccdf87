import type { Clock } from '../clock.js'
import { audit } from '../telemetry/audit.js'
import type { Logger } from '../telemetry/logger.js'
import type { SessionStore } from './store/store.js'

const BATCH = 500

/**
 * Periodically deletes expired records in small batches, yielding between them so requests
 * are never held up. Stores with native TTLs (Redis) need none of this.
 */
export function startCleanup(store: SessionStore, intervalMs: number, clock: Clock, log: Logger): { stop(): void; runOnce(): Promise<number> } {
  let running = false
  const runOnce = async (): Promise<number> => {
    if (!store.admin || running) return 0
    running = true
    let total = 0
    try {
      for (;;) {
        const removed = await store.admin.removeExpired(clock.now(), BATCH)
        total += removed
        if (removed < BATCH) break
        await new Promise((resolve) => setImmediate(resolve))
      }
      if (total > 0) audit(log, 'session_cleanup', { removed: total }, 'expired sessions removed')
    } catch (error) {
      log.warn({ event: 'session_cleanup_failed', err: (error as Error).message }, 'session cleanup failed; will retry')
    } finally {
      running = false
    }
    return total
  }
  const timer = setInterval(() => void runOnce(), intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer), runOnce }
}
