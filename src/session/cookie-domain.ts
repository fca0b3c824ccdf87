import { normalizeDomain, underDomain } from '../http/hosts.js'

/** The request headers that name the host the browser asked for. */
export interface HostHeaders {
  readonly host?: string | undefined
  readonly 'x-forwarded-host'?: string | string[] | undefined
}

/** The Domain attribute of the session cookie for a request; undefined = a host-only cookie. */
export type CookieDomain = (headers: HostHeaders | undefined) => string | undefined

/**
 * `session.cookie.domain` (one Domain for every request) or `session.cookie.domains` (the listed
 * domain the request's host falls under). The host is `public_url`'s when it is set; otherwise a
 * trusted proxy's X-Forwarded-Host, else the Host header — the server's edge has already removed
 * X-Forwarded-Host from peers outside `trusted_proxies`. Whatever a client sends, the answer is one
 * of the configured domains or none: a host under none of them gets a host-only cookie.
 */
export function createCookieDomain(options: { domain?: string | undefined; domains?: readonly string[] | undefined; publicUrl?: string | undefined }): CookieDomain {
  if (!options.domains) {
    const domain = options.domain
    return () => domain
  }
  const domains = options.domains.map(normalizeDomain)
  const pick = (host: string | undefined): string | undefined => {
    if (!host) return undefined
    const name = normalizeDomain(hostnameOf(host))
    return domains.find((domain) => underDomain(name, domain))
  }
  if (options.publicUrl) {
    const fixed = pick(new URL(options.publicUrl).hostname)
    return () => fixed
  }
  return (headers) => pick(first(headers?.['x-forwarded-host']) ?? first(headers?.host))
}

function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  const item = text?.split(',')[0]?.trim()
  return item ? item : undefined
}

/** `host:port` → `host`; an IPv6 literal keeps its brackets (it matches no domain anyway). */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.indexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}
