import type { SessionConfig } from '../config/schema.js'
import { SessionTooLarge } from '../errors.js'

/** Reads one cookie from a Cookie header without parsing the rest (hot path: one scan). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim()
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
      return value
    }
    start = end + 1
  }
  return undefined
}

/** The Cookie header without the named cookies (the upstream must never see the session). Undefined when nothing is left. */
export function removeCookies(header: string | undefined, isGatehouseCookie: (name: string) => boolean): string | undefined {
  if (!header) return undefined
  const kept = header
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=')
      const name = (eq === -1 ? pair : pair.slice(0, eq)).trim()
      return name !== '' && !isGatehouseCookie(name)
    })
    .map((pair) => pair.trim())
  return kept.length > 0 ? kept.join('; ') : undefined
}

export type CookieSettings = SessionConfig['cookie']

/** Set-Cookie for the session. HttpOnly always; Secure and SameSite from config (secure by default). */
export function serializeSessionCookie(settings: CookieSettings, value: string, maxAgeMs: number | null): string {
  const parts = [`${settings.name}=${value}`, `Path=${settings.path}`, 'HttpOnly']
  if (settings.domain) parts.push(`Domain=${settings.domain}`)
  if (settings.secure) parts.push('Secure')
  parts.push(`SameSite=${settings.same_site[0]!.toUpperCase()}${settings.same_site.slice(1)}`)
  if (maxAgeMs !== null) parts.push(`Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`)
  return parts.join('; ')
}

/** Expires the cookie with the same Domain and Path it was set with (otherwise browsers keep it). */
export function serializeExpiredCookie(settings: CookieSettings, name = settings.name): string {
  return serializeSessionCookie({ ...settings, name }, '', 0) + '; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
}

/**
 * Browsers keep about 4 KB per cookie, so a long token (cookie storage with many roles) is split
 * into `name` and `name.1`, `name.2`, …; the first chunk starts with `<count>~` (never part of a
 * base64url token or a signed id), so leftovers from an earlier, longer session are never glued on.
 */
const CHUNK_SIZE = 3800
// Node (and most servers) refuse request headers above 16 KB, so more chunks could never come back.
const MAX_CHUNKS = 4
const CHUNKED = /^(\d)~/

/** The session token from the request's cookies, reassembled when it was chunked. */
export function readSessionToken(header: string | undefined, settings: CookieSettings): string | undefined {
  const first = readCookie(header, settings.name)
  if (first === undefined) return undefined
  const chunked = CHUNKED.exec(first)
  if (!chunked) return first
  const count = Number(chunked[1])
  if (count < 2 || count > MAX_CHUNKS) return undefined
  let token = first.slice(chunked[0].length)
  for (let i = 1; i < count; i++) {
    const part = readCookie(header, `${settings.name}.${i}`)
    if (part === undefined) return undefined
    token += part
  }
  return token
}

/** Set-Cookie lines that hand the browser a new session token (chunked when long), expiring stale chunks. */
export function sessionCookieLines(settings: CookieSettings, token: string, maxAgeMs: number | null, requestCookies?: string): string[] {
  if (token.length <= CHUNK_SIZE) {
    return [serializeSessionCookie(settings, token, maxAgeMs), ...staleChunks(settings, requestCookies, 1)]
  }
  const count = Math.ceil(token.length / CHUNK_SIZE)
  if (count > MAX_CHUNKS) throw new SessionTooLarge(`session of ${token.length} bytes does not fit in ${MAX_CHUNKS} cookies; use a server-side storage`)
  const lines: string[] = []
  for (let i = 0; i < count; i++) {
    const part = token.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)
    lines.push(serializeSessionCookie({ ...settings, name: i === 0 ? settings.name : `${settings.name}.${i}` }, i === 0 ? `${count}~${part}` : part, maxAgeMs))
  }
  return [...lines, ...staleChunks(settings, requestCookies, count)]
}

/** Set-Cookie lines that expire every cookie the session set, with the Domain and Path it was set with. */
export function expiredSessionCookieLines(settings: CookieSettings, requestCookies?: string): string[] {
  return [serializeExpiredCookie(settings), ...staleChunks(settings, requestCookies, 1)]
}

/** Expiry lines for `name.N` cookies the browser sent with N ≥ `from`. */
function staleChunks(settings: CookieSettings, header: string | undefined, from: number): string[] {
  if (!header || !header.includes(`${settings.name}.`)) return []
  const lines: string[] = []
  for (let i = from; i <= MAX_CHUNKS; i++) {
    const name = `${settings.name}.${i}`
    if (readCookie(header, name) !== undefined) lines.push(serializeExpiredCookie(settings, name))
  }
  return lines
}
