/** Cookie headers, read and written without knowing what the cookies mean. */

/** Reads one cookie from a Cookie header without parsing the rest (hot path: one scan). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  return header ? scan(header, name, null) : undefined
}

/**
 * Every value sent for one cookie name, in order (one scan of the whole header). Browsers send
 * several when cookies of that name were set for different Domains or Paths.
 */
export function readCookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = []
  if (header && header.includes(name)) scan(header, name, values)
  return values
}

/** The first value of `name` (when `all` is null), or every value pushed onto `all`. */
function scan(header: string, name: string, all: string[] | null): string | undefined {
  let start = 0
  while (start < header.length) {
    let end = header.indexOf(';', start)
    if (end === -1) end = header.length
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim()
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
      if (!all) return value
      all.push(value)
    }
    start = end + 1
  }
  return undefined
}

/** The Cookie header without the cookies `drop` names. Undefined when nothing is left. */
export function removeCookies(header: string | undefined, drop: (name: string) => boolean): string | undefined {
  if (!header) return undefined
  const kept = header
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=')
      const name = (eq === -1 ? pair : pair.slice(0, eq)).trim()
      return name !== '' && !drop(name)
    })
    .map((pair) => pair.trim())
  return kept.length > 0 ? kept.join('; ') : undefined
}

/**
 * Set-Cookie lines without those whose cookie name `drop` matches. The name is what a browser
 * stores: the text before the first `=`, trimmed (RFC 6265 §5.2), compared exactly — cookie names
 * are case-sensitive, so `Session` never replaces `session`.
 */
export function withoutSetCookies(lines: readonly string[], drop: (name: string) => boolean): string[] {
  return lines.filter((line) => {
    const eq = line.indexOf('=')
    const semicolon = line.indexOf(';')
    // No `=` before any `;`: a nameless cookie (its text is the value), never one of ours.
    if (eq === -1 || (semicolon !== -1 && semicolon < eq)) return true
    return !drop(line.slice(0, eq).trim())
  })
}

export interface CookieAttributes {
  readonly path: string
  readonly domain?: string | undefined
  readonly httpOnly: boolean
  readonly secure: boolean
  readonly sameSite: 'strict' | 'lax' | 'none'
  /** CHIPS: the browser keeps the cookie per top-level site (needs SameSite=None; Secure). */
  readonly partitioned?: boolean | undefined
  /** Null: a browser-session cookie (no Max-Age). */
  readonly maxAgeMs: number | null
}

/** One Set-Cookie line. */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  const parts = [`${name}=${value}`, `Path=${attributes.path}`]
  if (attributes.httpOnly) parts.push('HttpOnly')
  if (attributes.domain) parts.push(`Domain=${attributes.domain}`)
  if (attributes.secure) parts.push('Secure')
  parts.push(`SameSite=${attributes.sameSite[0]!.toUpperCase()}${attributes.sameSite.slice(1)}`)
  if (attributes.partitioned) parts.push('Partitioned')
  if (attributes.maxAgeMs !== null) parts.push(`Max-Age=${Math.max(0, Math.floor(attributes.maxAgeMs / 1000))}`)
  return parts.join('; ')
}

/** A Set-Cookie line that deletes the cookie; Domain, Path and Partitioned must be those it was set with. */
export function serializeExpiredCookie(name: string, attributes: Omit<CookieAttributes, 'maxAgeMs'>): string {
  return `${serializeCookie(name, '', { ...attributes, maxAgeMs: 0 })}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
}
