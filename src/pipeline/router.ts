import type { Config, RouteConfig, UpstreamConfig } from '../config/schema.js'
import { BadRequest, RouteNotFound } from '../errors.js'

export interface Route {
  readonly path: string
  readonly upstream: UpstreamConfig
  readonly auth: RouteConfig['auth']
  readonly methods?: readonly string[] | undefined
  readonly roles?: readonly string[] | undefined
  readonly deny_anonymous?: RouteConfig['deny_anonymous']
}

export interface Router {
  /** The route for a raw request URL. Throws BadRequest for paths that could mean two things. */
  match(rawUrl: string): Route
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

  return {
    match(rawUrl) {
      const query = rawUrl.indexOf('?')
      const raw = query === -1 ? rawUrl : rawUrl.slice(0, query)
      const readings = pathReadings(raw)
      const found = lookup(readings[0]!)
      for (let i = 1; i < readings.length; i++) {
        if (lookup(readings[i]!) !== found) throw new BadRequest('ambiguous request path', { reason: 'ambiguous_path' })
      }
      if (!found) throw new RouteNotFound('no route for this path', { reason: 'no_route' })
      return found
    },
  }
}

export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true
  if (!path.startsWith(prefix)) return false
  return path.length === prefix.length || prefix.endsWith('/') || path[prefix.length] === '/'
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
