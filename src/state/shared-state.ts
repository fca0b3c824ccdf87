/**
 * Small pieces of state every gateway process and worker must see alike, kept in the configured
 * store next to the sessions: login-attempt counters (auth.login_limit), revoked cookie sessions
 * (session.revocation), used OIDC `jti`s and `state`s. Keys are short strings chosen by the
 * caller (prefix them by concern: `login:user:alice`, `revoked:<id>`); values are short strings.
 *
 * Every entry expires: nothing here grows without bound. Times are passed in (`now`, from the
 * gateway's clock) so that tests with a fake clock see the same expiry as the stores.
 * Failures to reach the backend throw StoreUnavailable (fail closed, like the session stores).
 */
export interface SharedState {
  readonly kind: SharedStateKind
  /**
   * Adds `by` (default 1) to the counter `key` and returns the new count and when the counter
   * resets. A counter that is absent or expired starts at 0 with expiry `now + ttlMs`; later
   * increments do not move its expiry (a fixed window).
   */
  increment(key: string, ttlMs: number, now: number, by?: number): Promise<Counter>
  /** The counter's current value (0 when absent or expired), without changing it. */
  count(key: string, now: number): Promise<Counter>
  /** The value, or null when absent or expired. */
  get(key: string, now: number): Promise<string | null>
  /** Stores `value` until `now + ttlMs`, replacing any earlier value and expiry. */
  set(key: string, value: string, ttlMs: number, now: number): Promise<void>
  /** Stores only when absent or expired; true when this call stored it (first use of a nonce or `jti`). */
  setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<boolean>
  delete(key: string): Promise<void>
  /** Deletes expired entries (cleanup); returns how many. Backends with native expiry return 0. */
  removeExpired(now: number): Promise<number>
  close(): Promise<void>
}

export type SharedStateKind = 'memory' | 'sqlite' | 'redis' | 'postgres'

export interface Counter {
  readonly count: number
  /** Epoch ms when the counter resets; `now` when it is absent. */
  readonly resetAt: number
}

export const MAX_KEY_LENGTH = 512
/** Large enough for a sealed OIDC token (Entra ID access tokens with many groups run to several KB). */
export const MAX_VALUE_LENGTH = 64 * 1024

/** Keys and values come from the gateway, never raw from a request; still, bound them. */
export function checkEntry(key: string, value?: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw new RangeError(`shared state key of ${key.length} characters (1..${MAX_KEY_LENGTH})`)
  if (value !== undefined && value.length > MAX_VALUE_LENGTH) throw new RangeError(`shared state value of ${value.length} characters (max ${MAX_VALUE_LENGTH})`)
}
