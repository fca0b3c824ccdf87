import { createHash } from 'node:crypto'
import { ProviderAnswerUnusable } from '../errors.js'
import { seal, sealKeys, unseal, type SealKey } from '../session/codec.js'
import { deriveKeys } from '../session/keys.js'
import { MAX_VALUE_LENGTH, type SharedState } from '../state/shared-state.js'

/** The provider's tokens for one OIDC login, as kept server side. */
export interface LoginTokens {
  readonly accessToken: string
  readonly refreshToken: string | undefined
  /** Epoch ms (gateway clock); undefined when the provider gave no `expires_in`. */
  readonly expiresAt: number | undefined
}

/** Who the provider says the login is: what back- and front-channel logout find it by. */
export interface LoginSubject {
  readonly provider: string
  readonly sub: string
  readonly sid: string | undefined
}

/** Entries per `sid`/`sub` index (cookie storage only): a user's most recent logins. */
const INDEX_MAX = 200

/**
 * Tokens of OIDC logins in the shared state (the session store's backend, so every gateway and
 * worker sees the same), sealed with AES-256-GCM under keys derived from `secrets`: a dump of the
 * store shows no usable token. Keyed by the login's handle — a random id kept in the session's
 * data, which survives rolling renewal of the session id. The entry's presence is also what says
 * the login is still live at the provider: back-channel logout deletes it.
 *
 * Three entries per login: the access/refresh tokens (rewritten on refresh), the ID token (for
 * `id_token_hint` at logout) and, with cookie storage only, the `sid`/`sub` indexes that let a
 * logout token find logins whose sessions live in browsers' cookies.
 */
export class TokenVault {
  readonly #state: SharedState
  readonly #keys: readonly SealKey[]

  constructor(state: SharedState, secrets: readonly string[]) {
    this.#state = state
    this.#keys = sealKeys(deriveKeys(secrets, 'oidc-token-vault'))
  }

  /**
   * The access token and the refresh token go into entries of their own: each may be several KB
   * (Entra ID's access tokens with groups), and an entry holds at most MAX_VALUE_LENGTH.
   * The refresh entry (with the expiry) is written last: it is what `load` starts from.
   */
  async save(handle: string, tokens: LoginTokens, ttlMs: number, now: number): Promise<void> {
    await this.#put(`oidc:a:${handle}`, tokens.accessToken, handle, ttlMs, now)
    await this.#put(`oidc:t:${handle}`, { refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt }, handle, ttlMs, now)
  }

  async saveIdToken(handle: string, idToken: string, ttlMs: number, now: number): Promise<void> {
    await this.#put(`oidc:i:${handle}`, idToken, handle, ttlMs, now)
  }

  async load(handle: string, now: number): Promise<LoginTokens | null> {
    const rest = this.#open<{ refreshToken?: string; expiresAt?: number }>(await this.#state.get(`oidc:t:${handle}`, now), handle)
    if (!rest) return null
    const accessToken = this.#open<string>(await this.#state.get(`oidc:a:${handle}`, now), handle)
    return accessToken === null ? null : { accessToken, refreshToken: rest.refreshToken, expiresAt: rest.expiresAt }
  }

  async idToken(handle: string, now: number): Promise<string | null> {
    return this.#open<string>(await this.#state.get(`oidc:i:${handle}`, now), handle)
  }

  async forget(handle: string): Promise<void> {
    // The refresh entry first: without it the login reads as ended, whatever else remains.
    await this.#state.delete(`oidc:t:${handle}`)
    await Promise.all([this.#state.delete(`oidc:a:${handle}`), this.#state.delete(`oidc:i:${handle}`)])
  }

  /** Cookie storage: remembers the login under its `sid` and `sub`, for logout tokens. */
  async index(handle: string, subject: LoginSubject, ttlMs: number, now: number): Promise<void> {
    for (const key of indexKeys(subject)) {
      const known = parseList(await this.#state.get(key, now))
      const next = [...known.filter((h) => h !== handle), handle].slice(-INDEX_MAX)
      await this.#state.set(key, JSON.stringify(next), ttlMs, now)
    }
  }

  /** Cookie storage: the logins indexed under this `sid` (or, without one, this `sub`). */
  async indexed(provider: string, by: { sid?: string | undefined; sub?: string | undefined }, now: number): Promise<string[]> {
    const key = by.sid !== undefined ? indexKey(provider, 'sid', by.sid) : by.sub !== undefined ? indexKey(provider, 'sub', by.sub) : undefined
    return key ? parseList(await this.#state.get(key, now)) : []
  }

  /** One refresh at a time per login across every process; true when this caller holds it. */
  lock(handle: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#state.setIfAbsent(`oidc:lock:${handle}`, '1', ttlMs, now)
  }

  unlock(handle: string): Promise<void> {
    return this.#state.delete(`oidc:lock:${handle}`)
  }

  /** First use of a one-time value (a logout token's `jti`, a login's `state`); false when seen before. */
  firstUse(kind: string, value: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#state.setIfAbsent(`oidc:${kind}:${digest(value)}`, '1', ttlMs, now)
  }

  async #put(key: string, value: unknown, handle: string, ttlMs: number, now: number): Promise<void> {
    const sealed = this.#seal(value, handle)
    if (sealed.length > MAX_VALUE_LENGTH) throw new ProviderAnswerUnusable(`a token of the provider does not fit in the shared state (${sealed.length} characters sealed, at most ${MAX_VALUE_LENGTH})`, { reason: 'oidc_token_too_large' })
    await this.#state.set(key, sealed, ttlMs, now)
  }

  // The handle is authenticated with the value: an entry copied under another login's key does not open.
  #seal(value: unknown, handle: string): string {
    return seal(Buffer.from(JSON.stringify({ h: handle, v: value })), this.#keys, 'oidc-token')
  }

  #open<T>(sealed: string | null, handle: string): T | null {
    if (sealed === null) return null
    const opened = unseal(sealed, this.#keys, 'oidc-token')
    if (!opened) return null
    try {
      const parsed = JSON.parse(opened.plaintext.toString('utf8')) as { h?: unknown; v?: T }
      return parsed.h === handle && parsed.v !== undefined ? parsed.v : null
    } catch {
      return null
    }
  }
}

function indexKeys(subject: LoginSubject): string[] {
  const keys = [indexKey(subject.provider, 'sub', subject.sub)]
  if (subject.sid !== undefined) keys.unshift(indexKey(subject.provider, 'sid', subject.sid))
  return keys
}

function indexKey(provider: string, kind: 'sid' | 'sub', value: string): string {
  return `oidc:${kind}:${provider}:${digest(value)}`
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

function parseList(value: string | null): string[] {
  if (!value) return []
  try {
    const parsed = JSON.parse(value) as unknown
    return Array.isArray(parsed) ? parsed.filter((h): h is string => typeof h === 'string') : []
  } catch {
    return []
  }
}
