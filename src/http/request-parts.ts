import type { IncomingHttpHeaders } from 'node:http'

/** The query parameters of a raw URL, or null when there is no query. */
export function queryOf(url: string): URLSearchParams | null {
  const index = url.indexOf('?')
  return index === -1 ? null : new URLSearchParams(url.slice(index + 1))
}

/**
 * The URL with the named query parameters removed (tokens must not reach the upstream or logs).
 * The other parameters keep their exact bytes: re-encoding them could change what the upstream reads.
 */
export function withoutQueryParams(url: string, names: readonly string[]): string {
  const index = url.indexOf('?')
  if (index === -1 || names.length === 0) return url
  const pairs = url.slice(index + 1).split('&')
  const kept = pairs.filter((pair) => !names.includes(paramName(pair)))
  if (kept.length === pairs.length) return url
  const rest = kept.filter((pair) => pair !== '').join('&')
  return rest ? `${url.slice(0, index)}?${rest}` : url.slice(0, index)
}

/** A pair's name decoded exactly as URLSearchParams (and so `queryOf`) decodes it: `j%77t=` is `jwt`. */
function paramName(pair: string): string {
  if (!/[%+]/.test(pair)) {
    const eq = pair.indexOf('=')
    return eq === -1 ? pair : pair.slice(0, eq)
  }
  return new URLSearchParams(pair).keys().next().value ?? ''
}

/** `Authorization: <scheme> <value>` → value, when the scheme matches (case-insensitive). */
export function authorizationValue(headers: IncomingHttpHeaders, scheme: string): string | undefined {
  const header = headers.authorization
  if (typeof header !== 'string') return undefined
  const space = header.indexOf(' ')
  // The bare scheme (`Authorization: Basic`) is a credential of that kind, just an empty one.
  if (space === -1) return header.toLowerCase() === scheme.toLowerCase() ? '' : undefined
  if (header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined
  return header.slice(space + 1).trim()
}

/** Decodes `Basic base64(user:pass)`; null when malformed. */
export function decodeBasic(value: string): { username: string; password: string } | null {
  if (!/^[A-Za-z0-9+/]+=*$/.test(value) || value.length > 4096) return null
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return null
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** A user name safe to put in an HTTP header and a log line. */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 256 && !/[\0-\x1f\x7f]/.test(name)
}

/** A role safe to join with commas into X-Forwarded-Groups. */
export function isSafeRole(role: unknown): role is string {
  return isSafeName(role) && !role.includes(',')
}
