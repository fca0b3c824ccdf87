import type { SessionConfig } from '../config/schema.js'
import { SessionTooLarge } from '../errors.js'
import { readCookie, serializeCookie, serializeExpiredCookie, type CookieAttributes } from '../http/cookies.js'

export type CookieSettings = SessionConfig['cookie']

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
  readonly #attributes: Omit<CookieAttributes, 'maxAgeMs'>

  constructor(settings: CookieSettings) {
    this.name = settings.name
    this.#attributes = { path: settings.path, domain: settings.domain, httpOnly: true, secure: settings.secure, sameSite: settings.same_site }
  }

  /** The session token from a Cookie header, reassembled when it was chunked. */
  read(cookieHeader: string | undefined): string | undefined {
    const first = readCookie(cookieHeader, this.name)
    if (first === undefined) return undefined
    const chunked = CHUNKED.exec(first)
    if (!chunked) return first
    const count = Number(chunked[1])
    if (count < 2 || count > MAX_CHUNKS) return undefined
    let token = first.slice(chunked[0].length)
    for (let i = 1; i < count; i++) {
      const part = readCookie(cookieHeader, `${this.name}.${i}`)
      if (part === undefined) return undefined
      token += part
    }
    return token
  }

  /** Whether a cookie of this name belongs to the session (the cookie or one of its chunks): never forwarded upstream. */
  owns(cookieName: string): boolean {
    if (cookieName === this.name) return true
    if (!cookieName.startsWith(this.name) || cookieName[this.name.length] !== '.') return false
    return /^\d+$/.test(cookieName.slice(this.name.length + 1))
  }

  /**
   * Set-Cookie lines handing the browser a token (new session or renewal), chunked when long,
   * expiring chunks of an earlier, longer token. `maxAgeMs` null: ends with the browser.
   */
  issue(token: string, maxAgeMs: number | null, requestCookies: string | undefined): string[] {
    const attributes = { ...this.#attributes, maxAgeMs }
    if (token.length <= CHUNK_SIZE) return [serializeCookie(this.name, token, attributes), ...this.#staleChunks(requestCookies, 1)]
    const count = Math.ceil(token.length / CHUNK_SIZE)
    if (count > MAX_CHUNKS) throw new SessionTooLarge(`session of ${token.length} bytes does not fit in ${MAX_CHUNKS} cookies; use a server-side storage`)
    const lines: string[] = []
    for (let i = 0; i < count; i++) {
      const part = token.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)
      lines.push(serializeCookie(i === 0 ? this.name : `${this.name}.${i}`, i === 0 ? `${count}~${part}` : part, attributes))
    }
    return [...lines, ...this.#staleChunks(requestCookies, count)]
  }

  /** Set-Cookie lines deleting the cookie and every chunk the browser sent, with the Domain and Path they were set with. */
  expire(requestCookies: string | undefined): string[] {
    return [serializeExpiredCookie(this.name, this.#attributes), ...this.#staleChunks(requestCookies, 1)]
  }

  /** Expiry lines for `name.N` cookies the browser sent with N ≥ `from`. */
  #staleChunks(header: string | undefined, from: number): string[] {
    if (!header || !header.includes(`${this.name}.`)) return []
    const lines: string[] = []
    for (let i = from; i <= MAX_CHUNKS; i++) {
      const name = `${this.name}.${i}`
      if (readCookie(header, name) !== undefined) lines.push(serializeExpiredCookie(name, this.#attributes))
    }
    return lines
  }
}
