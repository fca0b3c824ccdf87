import type { Clock } from '../clock.js'
import type { Logger } from '../telemetry/logger.js'
import type { SharedState } from './shared-state.js'

/**
 * Deletes expired shared-state entries now and then (SQLite and PostgreSQL keep them until
 * asked; Redis and memory expire by themselves). Entries are few and short-lived, so one call
 * per interval is enough; a failure is retried at the next one.
 */
export function startStateCleanup(state: SharedState, intervalMs: number, clock: Clock, log: Logger): { stop(): void } {
  const timer = setInterval(() => {
    state.removeExpired(clock.now()).catch((error: unknown) => log.warn({ event: 'state_cleanup_failed', err: (error as Error).message }, 'shared state cleanup failed; will retry'))
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
