import type { SessionConfig } from '../config/schema.js'
import { BadRequest, SessionTooLarge } from '../errors.js'
import { readCookie, readCookieValues, serializeCookie, serializeExpiredCookie, type CookieAttributes } from '../http/cookies.js'
import { createCookieDomain, type CookieDomain } from './cookie-domain.js'

/** `session.cookie`; `partitioned` may be left out (off). */
export type CookieSettings = Omit<SessionConfig['cookie'], 'partitioned'> & { readonly partitioned?: boolean | undefined }

/**
 * The request as the session cookie sees it: its headers (the Cookie header, and the Host or a
 * trusted X-Forwarded-Host that choose among `cookie.domains`), or the Cookie header alone where
 * the host cannot matter.
 */
export type CookieRequest = string | undefined | { readonly cookie?: string | undefined; readonly host?: string | undefined; readonly 'x-forwarded-host'?: string | string[] | undefined }

/**
 * Browsers keep about 4 KB per cookie, so a long token (cookie storage with many roles) is split
 * into `name` and `name.1`, `name.2`, …; the first chunk starts with `<count>~` (never part of a
 * base64url token or a signed id), so leftovers from an earlier, longer session are never glued on.
 */
const CHUNK_SIZE = 3800
// Node (and most servers) refuse request headers above 16 KB, so more chunks could never come back.
const MAX_CHUNKS = 4
const CHUNKED = /^(\d)~/

/**
 * The only module that reads, writes, renews, chunks and expires the session cookie. Login,
 * `?jwt=` login, renewal and logout all hand it a token or ask it to expire; nobody else
 * knows the cookie's name, attributes or chunk format.
 */
export class SessionCookie {
  readonly name: string
  readonly #attributes: Omit<CookieAttributes, 'maxAgeMs' | 'domain'>
  readonly #domain: CookieDomain

  /** `publicUrl`: with `cookie.domains`, its host (not the request's) picks the domain. */
  constructor(settings: CookieSettings, options: { readonly publicUrl?: string | undefined } = {}) {
    this.name = settings.name
    this.#attributes = { path: settings.path, httpOnly: true, secure: settings.secure, sameSite: settings.same_site, partitioned: settings.partitioned }
    this.#domain = createCookieDomain({ domain: settings.domain, domains: settings.domains, publicUrl: options.publicUrl })
  }

  /**
   * The session token from a Cookie header, reassembled when it was chunked. Two different values
   * for the cookie or one of its chunks (cookie tossing: a sibling subdomain set its own for the
   * parent domain) are refused with 400 `duplicate_session_cookie`: which one the browser sends
   * first is not something an attacker should get to decide. Identical copies count as one.
   */
  read(request: CookieRequest): string | undefined {
    const presented = this.#presented(cookieHeaderOf(request))
    if (presented.conflict) {
      throw new BadRequest('the request carries two different session cookies (a sibling site may have set one); clear this site\'s cookies and sign in again', { reason: 'duplicate_session_cookie' })
    }
    return presented.tokens[0]
  }

  /** Every distinct token the request carries (logout ends them all, tossed or not); never throws. */
  readAll(request: CookieRequest): string[] {
    return this.#presented(cookieHeaderOf(request)).tokens
  }

  /** Whether a cookie of this name belongs to the session (the cookie or one of its chunks): never forwarded upstream, never set by an upstream. Exact, case-sensitive (as browsers compare cookie names). */
  owns(cookieName: string): boolean {
    if (cookieName === this.name) return true
    if (!cookieName.startsWith(this.name) || cookieName[this.name.length] !== '.') return false
    return /^\d+$/.test(cookieName.slice(this.name.length + 1))
  }

  /**
   * Set-Cookie lines handing the browser a token (new session or renewal), chunked when long,
   * expiring chunks of an earlier, longer token. `maxAgeMs` null: ends with the browser.
   */
  issue(token: string, maxAgeMs: number | null, request: CookieRequest): string[] {
    const attributes = { ...this.#attributesFor(request), maxAgeMs }
    const header = cookieHeaderOf(request)
    if (token.length <= CHUNK_SIZE) return [serializeCookie(this.name, token, attributes), ...this.#staleChunks(header, 1, request)]
    const count = Math.ceil(token.length / CHUNK_SIZE)
    if (count > MAX_CHUNKS) throw new SessionTooLarge(`session of ${token.length} bytes does not fit in ${MAX_CHUNKS} cookies; use a server-side storage`)
    const lines: string[] = []
    for (let i = 0; i < count; i++) {
      const part = token.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)
      lines.push(serializeCookie(i === 0 ? this.name : `${this.name}.${i}`, i === 0 ? `${count}~${part}` : part, attributes))
    }
    return [...lines, ...this.#staleChunks(header, count, request)]
  }

  /** Set-Cookie lines deleting the cookie and every chunk the browser sent, with the Domain, Path and Partitioned they were set with. */
  expire(request: CookieRequest): string[] {
    return [serializeExpiredCookie(this.name, this.#attributesFor(request)), ...this.#staleChunks(cookieHeaderOf(request), 1, request)]
  }

  #attributesFor(request: CookieRequest): Omit<CookieAttributes, 'maxAgeMs'> {
    return { ...this.#attributes, domain: this.#domain(typeof request === 'object' ? request : undefined) }
  }

  #presented(header: string | undefined): { tokens: string[]; conflict: boolean } {
    const firsts = distinct(readCookieValues(header, this.name))
    let conflict = firsts.length > 1
    const tokens: string[] = []
    for (const first of firsts) {
      const chunked = CHUNKED.exec(first)
      if (!chunked) {
        tokens.push(first)
        continue
      }
      const count = Number(chunked[1])
      if (count < 2 || count > MAX_CHUNKS) continue
      let token = first.slice(chunked[0].length)
      let complete = true
      for (let i = 1; i < count; i++) {
        const parts = distinct(readCookieValues(header, `${this.name}.${i}`))
        if (parts.length === 0) {
          complete = false
          break
        }
        if (parts.length > 1) conflict = true
        token += parts[0]
      }
      if (complete) tokens.push(token)
    }
    return { tokens, conflict }
  }

  /** Expiry lines for `name.N` cookies the browser sent with N ≥ `from`. */
  #staleChunks(header: string | undefined, from: number, request: CookieRequest): string[] {
    if (!header || !header.includes(`${this.name}.`)) return []
    const lines: string[] = []
    for (let i = from; i <= MAX_CHUNKS; i++) {
      const name = `${this.name}.${i}`
      if (readCookie(header, name) !== undefined) lines.push(serializeExpiredCookie(name, this.#attributesFor(request)))
    }
    return lines
  }
}

function cookieHeaderOf(request: CookieRequest): string | undefined {
  return typeof request === 'object' ? request.cookie : request
}

function distinct(values: string[]): string[] {
  return values.length < 2 ? values : [...new Set(values)]
}
