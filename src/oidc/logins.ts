import { randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import { AuthServiceUnavailable } from '../errors.js'
import type { Session } from '../session/session.js'
import { BoundedMap } from '../session/store/bounded-map.js'
import type { SessionAdmin } from '../session/store/store.js'
import type { Logger } from '../telemetry/logger.js'
import type { OidcClient, TokenSet } from './client.js'
import { oidcData } from './identity.js'
import type { TokenVault } from './token-vault.js'

/** Refresh this long before the access token expires, so an upstream never gets one about to die. */
export const REFRESH_AHEAD_MS = 30_000
/** After the provider failed to answer a refresh that was not strictly needed, retry after this. */
const RETRY_AFTER_OUTAGE_MS = 30_000
const LOCK_TTL_MS = 15_000
const LOCK_WAIT_MS = 5_000
const CACHE_MAX_ENTRIES = 50_000

export type Freshness =
  | { readonly live: true; readonly accessToken?: string | undefined }
  /** Logged out at the provider, refresh refused, or the token is dead: the session must end. */
  | { readonly live: false; readonly why: 'logged_out' | 'refresh_failed' | 'token_expired' }

interface Known {
  readonly accessToken: string | undefined
  /** Past this (gateway clock), look again: the token's expiry minus REFRESH_AHEAD_MS, or a retry time. */
  readonly recheckAt: number
  readonly checkedAt: number
}

export interface OidcLoginsDeps {
  readonly clients: ReadonlyMap<string, OidcClient>
  readonly vault: TokenVault
  /** Absent on cookie storage: sessions live in cookies and are found through the vault's indexes. */
  readonly admin: SessionAdmin | undefined
  readonly clock: Clock
  readonly log: Logger
  /** How long a login's tokens are kept: the session's lifespan (or idle timeout). */
  readonly keepMs: number
  /** Cookie storage: how long this process trusts that a login is still live before asking the vault again. */
  readonly livenessMs: number
}

/**
 * OIDC logins beside their sessions: tokens kept in the vault at sign-in, checked and refreshed
 * on requests, and ended by the provider's logout. The check is in-process after the first look
 * (a Map lookup) until the access token is due for refresh; only then does it touch the store or
 * the provider, one refresh per login at a time (in this process by a shared promise, across
 * processes by a lock in the shared state).
 */
export class OidcLogins {
  readonly #deps: OidcLoginsDeps
  readonly #known = new BoundedMap<string, Known>(CACHE_MAX_ENTRIES)
  readonly #checking = new Map<string, Promise<Freshness>>()

  constructor(deps: OidcLoginsDeps) {
    this.#deps = deps
  }

  newHandle(): string {
    return randomBytes(18).toString('base64url')
  }

  /** Stores a new login's tokens (the refresh token only when `refresh` is on). Before the session exists: a store failure means no session. */
  async remember(handle: string, provider: string, tokens: TokenSet & { idToken: string }, subject: { sub: string; sid: string | undefined }): Promise<void> {
    const { vault, clock, keepMs, clients } = this.#deps
    const settings = clients.get(provider)!.settings
    const now = clock.now()
    const expiresAt = tokens.expiresIn === undefined ? undefined : now + tokens.expiresIn * 1000
    await vault.save(handle, { accessToken: tokens.accessToken, refreshToken: settings.refresh ? tokens.refreshToken : undefined, expiresAt }, keepMs, now)
    await vault.saveIdToken(handle, tokens.idToken, keepMs, now)
    if (!this.#deps.admin) await vault.index(handle, { provider, ...subject }, keepMs, now)
    this.#known.set(handle, { accessToken: tokens.accessToken, recheckAt: recheck(expiresAt, now, this.#deps.livenessMs, !this.#deps.admin), checkedAt: now })
  }

  /**
   * Whether an OIDC session may go on, and the access token for the upstream when
   * `pass_access_token` is on. Throws AuthServiceUnavailable when the provider is down and the
   * token the upstream needs has run out (the session stays: it may work again later).
   */
  check(session: Session): Promise<Freshness> | Freshness {
    const data = oidcData(session.data)
    const client = this.#deps.clients.get(session.provider.name)
    // An OIDC session of a provider no longer configured cannot be checked: it ends.
    if (!data || !client) return { live: false, why: 'logged_out' }
    const { refresh, pass_access_token } = client.settings
    // Server-side sessions that need no token are ended by removing the record: nothing to check.
    if (this.#deps.admin && !refresh && !pass_access_token) return { live: true }
    const known = this.#known.get(data.login)
    const now = this.#deps.clock.now()
    if (known && now < known.recheckAt) return { live: true, accessToken: pass_access_token ? known.accessToken : undefined }
    let inFlight = this.#checking.get(data.login)
    if (!inFlight) {
      inFlight = this.#look(data.login, client).finally(() => this.#checking.delete(data.login))
      this.#checking.set(data.login, inFlight)
    }
    return inFlight.then((freshness) => (freshness.live && !pass_access_token ? { live: true } : freshness))
  }

  async #look(handle: string, client: OidcClient, waited = 0): Promise<Freshness> {
    const { vault, clock, keepMs, livenessMs, log } = this.#deps
    const cookieStorage = !this.#deps.admin
    const now = clock.now()
    const tokens = await vault.load(handle, now)
    if (!tokens) return (this.#known.delete(handle), { live: false, why: 'logged_out' })
    const fresh = tokens.expiresAt === undefined || tokens.expiresAt - REFRESH_AHEAD_MS > now
    if (fresh || !client.settings.refresh || !tokens.refreshToken) {
      // No refresh possible: a session without a usable token for the upstream ends; others go on.
      if (!fresh && client.settings.pass_access_token && tokens.expiresAt! <= now) return (this.#known.delete(handle), { live: false, why: 'token_expired' })
      const recheckAt = fresh ? recheck(tokens.expiresAt, now, livenessMs, cookieStorage) : tokens.expiresAt !== undefined && tokens.expiresAt > now ? tokens.expiresAt : now + (cookieStorage ? livenessMs : keepMs)
      this.#known.set(handle, { accessToken: tokens.accessToken, recheckAt, checkedAt: now })
      return { live: true, accessToken: tokens.accessToken }
    }
    if (!(await vault.lock(handle, LOCK_TTL_MS, now))) {
      // Another process is refreshing this login: wait for its result rather than use the refresh token twice.
      if (waited >= LOCK_WAIT_MS) throw new AuthServiceUnavailable('token refresh still in progress', { reason: 'oidc_unavailable' })
      await new Promise((resolve) => setTimeout(resolve, 100))
      return this.#look(handle, client, waited + 100)
    }
    try {
      let renewed: TokenSet
      try {
        renewed = await client.refresh(tokens.refreshToken)
      } catch (error) {
        if (error instanceof AuthServiceUnavailable) {
          log.warn({ event: 'oidc_refresh_unavailable', provider: client.settings.name }, 'identity provider unreachable for a token refresh')
          if (client.settings.pass_access_token && (tokens.expiresAt ?? 0) <= now) throw error
          // Still usable (or not needed upstream): keep going, try again a little later.
          this.#known.set(handle, { accessToken: tokens.accessToken, recheckAt: now + RETRY_AFTER_OUTAGE_MS, checkedAt: now })
          return { live: true, accessToken: tokens.accessToken }
        }
        log.info({ event: 'oidc_refresh_refused', provider: client.settings.name, reason: (error as { reason?: string }).reason }, 'token refresh refused; session ends')
        await vault.forget(handle)
        this.#known.delete(handle)
        return { live: false, why: 'refresh_failed' }
      }
      const after = clock.now()
      const expiresAt = renewed.expiresIn === undefined ? undefined : after + renewed.expiresIn * 1000
      // Providers that rotate refresh tokens send a new one; others keep the old one valid.
      await vault.save(handle, { accessToken: renewed.accessToken, refreshToken: renewed.refreshToken ?? tokens.refreshToken, expiresAt }, keepMs, after)
      if (renewed.idToken) await vault.saveIdToken(handle, renewed.idToken, keepMs, after)
      this.#known.set(handle, { accessToken: renewed.accessToken, recheckAt: recheck(expiresAt, after, livenessMs, cookieStorage), checkedAt: after })
      return { live: true, accessToken: renewed.accessToken }
    } finally {
      await vault.unlock(handle).catch(() => undefined)
    }
  }

  /** The ID token of the session's login (for `id_token_hint`) and the login's tokens forgotten: called at logout. */
  async forget(session: Session): Promise<string | null> {
    const data = oidcData(session.data)
    if (!data) return null
    const now = this.#deps.clock.now()
    const idToken = await this.#deps.vault.idToken(data.login, now).catch(() => null)
    this.#known.delete(data.login)
    await this.#deps.vault.forget(data.login)
    return idToken
  }

  /** Sessions ended elsewhere (admin revocation, removed user): their logins' tokens are forgotten, not kept until they expire. */
  async forgetEnded(sessions: readonly Session[]): Promise<void> {
    for (const session of sessions) {
      const data = oidcData(session.data)
      if (!data) continue
      this.#known.delete(data.login)
      await this.#deps.vault.forget(data.login)
    }
  }

  /**
   * Ends every session of the provider's login session `sid` (or, without a sid, every session
   * of `sub`): server-side records are removed from the store (every process's read cache follows
   * the store's invalidation), and the tokens are forgotten, which is what ends cookie-stored
   * sessions at their next check. Returns how many logins ended.
   */
  async endBy(provider: string, by: { sid?: string | undefined; sub?: string | undefined }): Promise<number> {
    const { admin, vault, clock } = this.#deps
    const now = clock.now()
    const handles = new Set<string>()
    if (admin) {
      const doomed: string[] = []
      let cursor: string | undefined
      do {
        const page = await admin.list({ provider: { type: 'oidc', name: provider }, limit: 500, cursor, now })
        for (const session of page.sessions) {
          const data = oidcData(session.data)
          if (!data) continue
          if (by.sid !== undefined ? data.sid === by.sid : data.sub === by.sub) {
            doomed.push(session.id)
            handles.add(data.login)
          }
        }
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      if (doomed.length > 0) await admin.remove(doomed)
    } else {
      for (const handle of await vault.indexed(provider, by, now)) handles.add(handle)
    }
    for (const handle of handles) {
      this.#known.delete(handle)
      await vault.forget(handle)
    }
    return handles.size
  }
}

function recheck(expiresAt: number | undefined, now: number, livenessMs: number, cookieStorage: boolean): number {
  const due = expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - REFRESH_AHEAD_MS
  // Cookie storage: the vault entry is the only sign the login still stands; look again soon.
  return cookieStorage ? Math.min(due, now + livenessMs) : due
}
