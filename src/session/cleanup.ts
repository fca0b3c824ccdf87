import { performance } from 'node:perf_hooks'
import type { Clock } from '../clock.js'
import { audit } from '../telemetry/audit.js'
import type { Logger } from '../telemetry/logger.js'
import type { SessionStore } from './store/store.js'

/** Records per batch: starts at FIRST_BATCH, then sized so one batch takes about TARGET_BATCH_MS. */
const FIRST_BATCH = 500
const MIN_BATCH = 50
const MAX_BATCH = 5_000
const TARGET_BATCH_MS = 2
/**
 * After each batch, a pause of PAUSE_FACTOR × its duration (at least 1 ms): an in-process store
 * (SQLite) blocks the event loop while it deletes, so cleanup takes at most 1 / (1 + PAUSE_FACTOR)
 * of it (20 %) and no request waits behind more than one ~2 ms batch.
 */
const PAUSE_FACTOR = 4

/**
 * Periodically deletes expired records in small batches, pausing between them so requests
 * are never held up. Stores with native TTLs (Redis) need none of this.
 */
export function startCleanup(store: SessionStore, intervalMs: number, clock: Clock, log: Logger): { stop(): void; runOnce(): Promise<number> } {
  let running = false
  let stopped = false
  const runOnce = async (): Promise<number> => {
    if (!store.admin || running) return 0
    running = true
    let total = 0
    try {
      for (let batch = FIRST_BATCH; !stopped; ) {
        const started = performance.now()
        const removed = await store.admin.removeExpired(clock.now(), batch)
        const took = performance.now() - started
        total += removed
        if (removed < batch) break
        batch = Math.min(MAX_BATCH, Math.max(MIN_BATCH, Math.round((batch * TARGET_BATCH_MS) / Math.max(took, 0.05))))
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, took * PAUSE_FACTOR)))
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
  return {
    stop: () => {
      stopped = true
      clearInterval(timer)
    },
    runOnce,
  }
}
