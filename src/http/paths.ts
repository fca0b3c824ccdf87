import { BadRequest } from '../errors.js'

/** Whether `path` is `prefix` or below it, segment-wise (`/api` covers `/api/x`, not `/apix`). */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true
  if (!path.startsWith(prefix)) return false
  return path.length === prefix.length || prefix.endsWith('/') || path[prefix.length] === '/'
}

/** A route's path as the router compares it: a trailing `/` does not matter (`/api/` covers `/api`). */
export function routePrefix(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  return trimmed === '' ? '/' : trimmed
}

/**
 * Paths that read the same whichever way an upstream reads them: visible ASCII without `%`, `\`,
 * `;`, `#`, `//`, and no segment starting or ending with a dot. Only their case can still differ.
 */
const PLAIN = /^(?!.*(?:\/\/|\/\.|\.\/|\.$))\/[A-Za-z0-9/_~!$&'()*+,=:@.-]*$/

/**
 * Every reading of a request path that a common upstream may make, for routing:
 * - as sent (Express, Go);
 * - percent-decoded, with `%2f`/`%5c` as separators (nginx, IIS) or kept inside the segment (Tomcat),
 *   and decoded twice (the double-decoding bug class);
 * - `\` read as `/` (IIS), runs of `/` merged;
 * - `;` parameters removed from each segment, also when written `%3b` (Tomcat, Spring);
 * - trailing dots and spaces removed from each segment (IIS, Windows).
 * Case is the caller's business (match each reading with and without case folding).
 * Throws BadRequest `bad_path` for what no upstream reads safely: a path not starting with `/`, a
 * fragment (`#`), malformed percent-encoding, control characters, and `.`/`..` segments or
 * dot-only segments in any reading (`/..;/`, `%2e%2e`, `/.../`).
 */
export function pathReadings(raw: string): string[] {
  if (PLAIN.test(raw)) return [raw]
  if (!raw.startsWith('/')) throw badPath('request path must start with "/"')
  if (raw.includes('#')) throw badPath('a fragment (#) is not part of a request path')
  let decoded: string
  let keepingSeparators: string
  try {
    decoded = decodeURIComponent(raw)
    // %2f, %5c and %3b stay as text: the reading of an upstream that decodes within segments only.
    keepingSeparators = decodeURIComponent(raw.replace(/%(2f|5c|3b)/gi, '%25$1'))
  } catch {
    throw badPath('malformed percent-encoding in path')
  }
  const bases = [raw, keepingSeparators, decoded]
  if (/%[0-9a-f]{2}/i.test(decoded)) {
    try {
      bases.push(decodeURIComponent(decoded))
    } catch {
      // Not decodable twice: no upstream reads it that way.
    }
  }
  const readings = new Set<string>()
  for (const base of bases) {
    if (/[\0-\x1f\x7f]/.test(base)) throw badPath('control characters in path')
    for (const slashed of base.includes('\\') ? [base, base.replace(/\\/g, '/')] : [base]) {
      for (const withoutParams of slashed.includes(';') ? [slashed, mapSegments(slashed, (s) => s.replace(/;.*$/s, ''))] : [slashed]) {
        for (const reading of [withoutParams, mapSegments(withoutParams, stripTrailingDots)]) {
          readings.add(reading)
          if (reading.includes('//')) readings.add(reading.replace(/\/{2,}/g, '/'))
        }
      }
    }
  }
  for (const reading of readings) {
    if (reading.split('/').some((segment) => segment === '.' || segment === '..')) throw badPath('dot segments are not allowed in the path')
  }
  return [...readings]
}

function mapSegments(path: string, map: (segment: string) => string): string {
  return path.split('/').map(map).join('/')
}

/** IIS and Windows drop trailing dots and spaces of a segment; a segment of nothing else is refused. */
function stripTrailingDots(segment: string): string {
  if (segment !== '' && /^[. ]+$/.test(segment) && segment.includes('.')) throw badPath('dot segments are not allowed in the path')
  let end = segment.length
  while (end > 0 && (segment[end - 1] === '.' || segment[end - 1] === ' ')) end--
  return end === segment.length ? segment : segment.slice(0, end)
}

function badPath(message: string): BadRequest {
  return new BadRequest(message, { reason: 'bad_path' })
}
