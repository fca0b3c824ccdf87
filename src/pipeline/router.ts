import type { Config, RouteConfig, UpstreamConfig } from '../config/schema.js'
import { BadRequest, RouteNotFound } from '../errors.js'
import { pathReadings, routePrefix, underPrefix } from '../http/paths.js'

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
 * Longest-prefix routing on segment boundaries that cannot be fooled by path tricks: the decision
 * is taken on every reading of the path a common upstream might make (see `pathReadings`: as
 * sent, percent-decoded, `\` as `/`, slashes merged, without `;` parameters, without trailing dots),
 * each compared with and without case folding. A path on which those readings select different
 * routes is refused (`ambiguous_path`), so no variant reaches the upstream under another route's
 * rules. A route's trailing `/` does not matter: `/api/private/` covers `/api/private`.
 */
export function createRouter(config: Config): Router {
  const routes: Route[] = config.routes.map((route) => ({
    path: routePrefix(route.path),
    upstream: (route.upstream ?? config.upstream)!,
    auth: route.auth,
    methods: route.methods,
    roles: route.roles,
    deny_anonymous: route.deny_anonymous,
  }))
  if (config.upstream) routes.push({ path: '/', upstream: config.upstream, auth: 'required' })
  routes.sort((a, b) => b.path.length - a.path.length)
  const folded = routes.map((route) => ({ prefix: route.path.toLowerCase(), route })).sort((a, b) => b.prefix.length - a.prefix.length)
  const routesAreLowerCase = routes.every((route) => route.path === route.path.toLowerCase())

  const lookup = (path: string): Route | undefined => routes.find((route) => underPrefix(path, route.path))
  const lookupFolded = (path: string): Route | undefined => {
    const lower = path.toLowerCase()
    return folded.find(({ prefix }) => underPrefix(lower, prefix))?.route
  }

  const find = (rawUrl: string): Route | undefined => {
    const query = rawUrl.indexOf('?')
    const raw = query === -1 ? rawUrl : rawUrl.slice(0, query)
    const readings = pathReadings(raw)
    const found = lookup(readings[0]!)
    for (let i = 0; i < readings.length; i++) {
      const reading = readings[i]!
      if (i > 0 && lookup(reading) !== found) throw ambiguous()
      // Express and IIS route case-insensitively: `/API/private` is `/api/private` to them.
      if ((!routesAreLowerCase || reading !== reading.toLowerCase()) && lookupFolded(reading) !== found) throw ambiguous()
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

function ambiguous(): BadRequest {
  return new BadRequest('ambiguous request path', { reason: 'ambiguous_path' })
}

export { pathReadings }
