import type { Clock } from '../clock.js'
import type { SharedState } from '../state/shared-state.js'
import type { Logger } from '../telemetry/logger.js'

/**
 * Every `intervalMs`, deletes the OIDC shared state's expired entries (used `state`s and `jti`s,
 * tokens of logins past their lifespan). Backends with native expiry (Redis) do nothing here.
 */
export function startStateCleanup(state: SharedState, intervalMs: number, clock: Clock, log: Logger): { stop(): void } {
  const timer = setInterval(() => {
    state.removeExpired(clock.now()).catch((error: unknown) => log.warn({ event: 'oidc_state_cleanup_failed', err: (error as Error).message }, 'OIDC state cleanup failed; will retry'))
  }, intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
