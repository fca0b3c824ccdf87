import type { IncomingHttpHeaders } from 'node:http'

/** The query parameters of a raw URL, or null when there is no query. */
export function queryOf(url: string): URLSearchParams | null {
  const index = url.indexOf('?')
  return index === -1 ? null : new URLSearchParams(url.slice(index + 1))
}

/**
 * The URL with the named query parameters removed (tokens must not reach the upstream or logs).
 * A parameter goes whatever its position, repetition or spelling: its name is compared after
 * decoding (as URLSearchParams does, and once more for upstreams that decode twice), ignoring
 * case, surrounding spaces and a PHP-style `[]` suffix, with ` ` and `.` read as `_` (PHP's
 * reading), so `API_KEY`, `api%5Fkey`, `api.key`, `api+key` and `api_key[]` are all `api_key`.
 * `;`-separated pairs inside a pair (`x=1;api_key=K`, read by some CGI parsers) are removed too.
 * The other parameters keep their exact bytes: re-encoding them could change what the upstream reads.
 */
export function withoutQueryParams(url: string, names: readonly string[]): string {
  const index = url.indexOf('?')
  if (index === -1 || names.length === 0) return url
  const loose = new Set(names.map(looseName))
  const isCredential = (pair: string): boolean => paramNames(pair).some((name) => loose.has(name))
  const pairs = url.slice(index + 1).split('&')
  let changed = false
  const kept: string[] = []
  for (const pair of pairs) {
    if (pair === '') continue
    if (isCredential(pair)) {
      changed = true
      continue
    }
    if (pair.includes(';')) {
      const parts = pair.split(';')
      const rest = parts.filter((part, i) => i === 0 || !isCredential(part))
      if (rest.length !== parts.length) {
        changed = true
        kept.push(rest.join(';'))
        continue
      }
    }
    kept.push(pair)
  }
  if (!changed) return url
  const rest = kept.join('&')
  return rest ? `${url.slice(0, index)}?${rest}` : url.slice(0, index)
}

/** The loose forms of a pair's name: decoded as URLSearchParams decodes it, and decoded twice. */
function paramNames(pair: string): string[] {
  const eq = pair.indexOf('=')
  const raw = eq === -1 ? pair : pair.slice(0, eq)
  if (!/[%+]/.test(raw)) return [looseName(raw)]
  const once = new URLSearchParams(`${raw}=`).keys().next().value ?? ''
  const names = [looseName(once)]
  if (/%[0-9a-f]{2}/i.test(once)) {
    try {
      names.push(looseName(decodeURIComponent(once)))
    } catch {
      // Not decodable twice.
    }
  }
  return names
}

/** A parameter name as the most lenient common parser reads it. */
function looseName(name: string): string {
  let loose = name.trim().toLowerCase()
  // A PHP array suffix (`name[]`, `name[0]`); found by index, not a regex (no quadratic backtracking on `[[[[`).
  if (loose.endsWith(']')) {
    const open = loose.lastIndexOf('[', loose.length - 2)
    if (open !== -1 && !loose.slice(open + 1, -1).includes(']')) loose = loose.slice(0, open)
  }
  return loose.replace(/[ .[]/g, '_')
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

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
const CONTROL = /[\0-\x1f\x7f-\x9f\u2028\u2029]/
/** Half of a UTF-16 pair: not a character, and not encodable. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
/** Whitespace at either end (Unicode-aware): `"alice "` would reach an upstream as `alice`. */
const SURROUNDING_SPACE = /^\s|\s$/

/**
 * A user name (or e-mail) acceptable from any source: 1..256 characters, well-formed Unicode, no
 * control characters, no whitespace at either end. Any script is fine: identity headers carry
 * names percent-encoded (see proxy/identity-headers.ts).
 */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 256 && !CONTROL.test(name) && !SURROUNDING_SPACE.test(name) && !LONE_SURROGATE.test(name)
}

/** A role safe to join with commas into X-Forwarded-Groups. */
export function isSafeRole(role: unknown): role is string {
  return isSafeName(role) && !role.includes(',')
}
