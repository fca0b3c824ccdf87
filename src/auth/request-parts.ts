import type { IncomingHttpHeaders } from 'node:http'

/** The query parameters of a raw URL, or null when there is no query. */
export function queryOf(url: string): URLSearchParams | null {
  const index = url.indexOf('?')
  return index === -1 ? null : new URLSearchParams(url.slice(index + 1))
}

/** The URL with the named query parameters removed (tokens must not reach the upstream or logs). */
export function withoutQueryParams(url: string, names: readonly string[]): string {
  const index = url.indexOf('?')
  if (index === -1 || names.length === 0) return url
  const params = new URLSearchParams(url.slice(index + 1))
  let changed = false
  for (const name of names) {
    if (params.has(name)) {
      params.delete(name)
      changed = true
    }
  }
  if (!changed) return url
  const rest = params.toString()
  return rest ? `${url.slice(0, index)}?${rest}` : url.slice(0, index)
}

/** `Authorization: <scheme> <value>` → value, when the scheme matches (case-insensitive). */
export function authorizationValue(headers: IncomingHttpHeaders, scheme: string): string | undefined {
  const header = headers.authorization
  if (typeof header !== 'string') return undefined
  const space = header.indexOf(' ')
  if (space === -1 || header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return undefined
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
