import { randomBytes } from 'node:crypto'
import type { SessionConfig } from '../config/schema.js'
import { readCookie, serializeCookie, serializeExpiredCookie, type CookieAttributes } from '../http/cookies.js'
import { seal, sealKeys, unseal, type SealKey } from '../session/codec.js'
import { deriveKeys } from '../session/keys.js'

/** A login waits this long at the provider (login page, MFA) before its callback is refused. */
export const LOGIN_TTL_MS = 10 * 60_000

/** What the callback needs to finish a login this browser started. */
export interface PendingLogin {
  readonly provider: string
  readonly state: string
  readonly nonce: string
  /** The PKCE code verifier: its S256 challenge went to the provider. */
  readonly verifier: string
  /** Already checked by the redirect policy at login. */
  readonly rd: string | null
  readonly expiresAt: number
}

/**
 * The pending login in a short-lived cookie, sealed (AES-256-GCM, keys derived from `secrets`
 * for this purpose only), so that nothing is kept server side for a login that is never finished
 * and the callback is bound to the browser that started it (no login CSRF: a callback URL
 * with someone else's code finds no matching state here). SameSite=Lax, because the provider's
 * redirect back is a cross-site top-level navigation; Path limited to the OIDC endpoints.
 */
export class LoginStateCookie {
  readonly name: string
  readonly #keys: readonly SealKey[]
  readonly #attributes: Omit<CookieAttributes, 'maxAgeMs'>

  constructor(secrets: readonly string[], cookie: SessionConfig['cookie'], path: string) {
    this.name = `${cookie.name}_oidc`
    this.#keys = sealKeys(deriveKeys(secrets, 'oidc-login-state'))
    this.#attributes = { path, domain: undefined, httpOnly: true, secure: cookie.secure, sameSite: 'lax' }
  }

  /** Fresh state, nonce and verifier for a login of `provider`. */
  start(provider: string, rd: string | null, now: number): { login: PendingLogin; setCookie: string } {
    const random = () => randomBytes(32).toString('base64url')
    const login: PendingLogin = { provider, state: random(), nonce: random(), verifier: random(), rd, expiresAt: now + LOGIN_TTL_MS }
    const value = seal(Buffer.from(JSON.stringify(login)), this.#keys, `oidc-login:${this.name}`)
    return { login, setCookie: serializeCookie(this.name, value, { ...this.#attributes, maxAgeMs: LOGIN_TTL_MS }) }
  }

  /** The login behind the request's cookie; null when absent, forged, expired or for another provider. */
  read(cookieHeader: string | undefined, provider: string, now: number): PendingLogin | null {
    const value = readCookie(cookieHeader, this.name)
    if (!value || value.length > 4096) return null
    const opened = unseal(value, this.#keys, `oidc-login:${this.name}`)
    if (!opened) return null
    let login: PendingLogin
    try {
      login = JSON.parse(opened.plaintext.toString('utf8')) as PendingLogin
    } catch {
      return null
    }
    if (login.provider !== provider || typeof login.expiresAt !== 'number' || login.expiresAt <= now) return null
    return login
  }

  clear(): string {
    return serializeExpiredCookie(this.name, this.#attributes)
  }
}
