import type { Config, RouteConfig, UpstreamConfig } from '../config/schema.js'
import { BadRequest, RouteNotFound } from '../errors.js'
import { underPrefix } from '../http/paths.js'

export interface Route {
  readonly path: string
  /** Absent only on the fallback route forward-auth uses for URLs the gateway does not route. */
  readonly upstream?: UpstreamConfig | undefined
  readonly auth: RouteConfig['auth']
  readonly methods?: readonly string[] | undefined
  readonly roles?: readonly string[] | undefined
  readonly deny_anonymous?: RouteConfig['deny_anonymous']
}

export interface Router {
  /** The route for a raw request URL. Throws BadRequest for paths that could mean two things, RouteNotFound when none matches. */
  match(rawUrl: string): Route
  /** Like match, but undefined when no route matches. */
  find(rawUrl: string): Route | undefined
}

/**
 * Longest-prefix routing that cannot be fooled by path tricks: the decision is taken on every
 * reading of the path an upstream might make (raw, `\` as `/`, percent-decoded, slashes merged),
 * and a path on which those readings disagree, or with `.`/`..` segments, is refused.
 */
export function createRouter(config: Config): Router {
  const routes: Route[] = config.routes.map((route) => ({
    path: route.path,
    upstream: (route.upstream ?? config.upstream)!,
    auth: route.auth,
    methods: route.methods,
    roles: route.roles,
    deny_anonymous: route.deny_anonymous,
  }))
  if (config.upstream) routes.push({ path: '/', upstream: config.upstream, auth: 'required' })
  routes.sort((a, b) => b.path.length - a.path.length)

  const lookup = (path: string): Route | undefined => routes.find((route) => underPrefix(path, route.path))

  const find = (rawUrl: string): Route | undefined => {
    const query = rawUrl.indexOf('?')
    const raw = query === -1 ? rawUrl : rawUrl.slice(0, query)
    const readings = pathReadings(raw)
    const found = lookup(readings[0]!)
    for (let i = 1; i < readings.length; i++) {
      if (lookup(readings[i]!) !== found) throw new BadRequest('ambiguous request path', { reason: 'ambiguous_path' })
    }
    return found
  }
  return {
    find,
    match(rawUrl) {
      const found = find(rawUrl)
      if (!found) throw new RouteNotFound('no route for this path', { reason: 'no_route' })
      return found
    },
  }
}


const NEEDS_CARE = /[%\\]|\/\/|\/\.|^[^/]/

/** Every way the path may be read downstream; throws on malformed encodings and dot segments. */
export function pathReadings(raw: string): string[] {
  if (!NEEDS_CARE.test(raw)) return [raw]
  if (!raw.startsWith('/')) throw new BadRequest('request path must start with "/"', { reason: 'bad_path' })
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    throw new BadRequest('malformed percent-encoding in path', { reason: 'bad_path' })
  }
  const readings = new Set<string>([raw])
  for (const candidate of [raw, decoded]) {
    const slashed = candidate.replace(/\\/g, '/')
    if (slashed.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw new BadRequest('dot segments are not allowed in the path', { reason: 'bad_path' })
    }
    readings.add(slashed)
    readings.add(slashed.replace(/\/{2,}/g, '/'))
  }
  if (/[\0-\x1f\x7f]/.test(decoded)) throw new BadRequest('control characters in path', { reason: 'bad_path' })
  return [...readings]
}
