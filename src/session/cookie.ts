import type { SessionConfig } from '../config/schema.js'

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

/** The session token from the request's cookies (server-side stores: one cookie; cookie storage may chunk). */
export function readSessionToken(header: string | undefined, settings: CookieSettings): string | undefined {
  return readCookie(header, settings.name)
}

/** Set-Cookie lines that hand the browser a new session token. */
export function sessionCookieLines(settings: CookieSettings, token: string, maxAgeMs: number | null): string[] {
  return [serializeSessionCookie(settings, token, maxAgeMs)]
}

/** Set-Cookie lines that expire every cookie the session set, with the Domain and Path it was set with. */
export function expiredSessionCookieLines(settings: CookieSettings): string[] {
  return [serializeExpiredCookie(settings)]
}
