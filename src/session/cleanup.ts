import { performance } from 'node:perf_hooks'
import type { Clock } from '../clock.js'
import { audit } from '../telemetry/audit.js'
import type { Logger } from '../telemetry/logger.js'
import type { SessionStore } from './store/store.js'

/**
 * Pacing, per where the store deletes. Records per batch start at `first`, then are sized so one
 * batch takes about `targetMs`; after each batch, a pause of `pause` × its duration (≥ 1 ms).
 *
 * - On the event loop (memory): a batch holds up every request, so batches of ~2 ms and a pause
 *   of 4× (cleanup takes at most 20 % of the loop; no request waits behind more than one batch).
 * - Off the event loop (SQLite's maintenance thread, at a lower CPU priority): a batch holds only
 *   the store's write lock, which a login or renewal may wait for, so ~10 ms batches (larger
 *   batches share dirtied pages: fewer page writes per row) and a short pause that lets those
 *   writers in. The kernel, not the pause, keeps the thread from taking CPU from requests.
 */
const ON_LOOP = { first: 500, min: 50, max: 5_000, targetMs: 2, pause: 4 }
const OFF_LOOP = { first: 500, min: 50, max: 20_000, targetMs: 10, pause: 0.5 }

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
      const pacing = store.admin.removesOffThread?.() ? OFF_LOOP : ON_LOOP
      for (let batch = pacing.first; !stopped; ) {
        const started = performance.now()
        const removed = await store.admin.removeExpired(clock.now(), batch)
        const took = performance.now() - started
        total += removed
        if (removed < batch) break
        batch = Math.min(pacing.max, Math.max(pacing.min, Math.round((batch * pacing.targetMs) / Math.max(took, 0.05))))
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, took * pacing.pause)))
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
